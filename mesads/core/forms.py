from django import forms
from dsfr.forms import DsfrBaseForm


class SearchForm(DsfrBaseForm):
    """Base of search and filter forms (GET): every field is optional, so none is marked
    "(Optionnel)" as the design system does on data-entry forms."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.template_name = (
                "core/fields/search_checkbox.html"
                if isinstance(field.widget, forms.CheckboxInput)
                else "core/fields/search_input.html"
            )
