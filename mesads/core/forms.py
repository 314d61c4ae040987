from django import forms
from dsfr.forms import DsfrBaseForm, DsfrBoundField

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


class SearchBoundField(DsfrBoundField):
    """A search field. In a form whose fields are the same for everybody
    (``SearchForm.static_fields``), a field left empty renders as it did the first time
    in this process: the ADS list shows its ten filters, mostly empty, on every page, and
    rendering them was a third of the page's CPU. A field with a value or an error
    renders as usual."""

    def as_field_group(self):
        form = self.form
        value = self.value()
        if not form.static_fields or self.errors or value not in (None, "", False):
            return super().as_field_group()
        # An empty value still shows: "" selects the empty option, None none.
        key = (type(form), self.html_name, self.auto_id, repr(value))
        html = EMPTY_FIELDS.get(key)
        if html is None:
            html = EMPTY_FIELDS[key] = super().as_field_group()
        return html


# (form class, name, id, empty value) -> the field's HTML; a few per field of the forms
# that declare static_fields.
EMPTY_FIELDS: dict[tuple, str] = {}


class SearchForm(DsfrBaseForm):
    """Base of search and filter forms (GET): every field is optional, so none is marked
    "(Optionnel)" as the design system does on data-entry forms."""

    bound_field_class = SearchBoundField
    # True when the fields, their labels and choices are the class's alone (nothing
    # computed per user or per request in __init__): their empty rendering is shared.
    static_fields = False

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
