from django import forms
from dsfr.forms import DsfrBaseForm

# Forms render many fields per page: the ADS form some fifty with its drivers, the list
# filters a dozen with their options. Django's widget templates nest two or three
# includes per input (attrs.html; one per <option>) and django-dsfr's field snippet makes
# some thirty dotted lookups per field, each a chain of failed dict and index attempts in
# the template engine: together most of the page's CPU. These templates give the same
# HTML from flat contexts.
FLAT_WIDGET_TEMPLATES = {
    **{
        f"django/forms/widgets/{name}.html": "core/fields/widgets/input.html"
        for name in ("text", "email", "date", "number", "tel", "url", "hidden", "checkbox")
    },
    "django/forms/widgets/select.html": "core/fields/widgets/select.html",
    "django/forms/widgets/textarea.html": "core/fields/widgets/textarea.html",
}


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
            widget = field.widget
            widget.template_name = FLAT_WIDGET_TEMPLATES.get(
                widget.template_name, widget.template_name
            )
