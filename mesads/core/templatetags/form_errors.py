"""The error summary at the top of a form that failed (RGAA 11.10, 11.11): every error,
each a link to its field, in the order of the page."""

from dataclasses import dataclass

from django import forms, template

register = template.Library()


@dataclass(frozen=True)
class FormError:
    message: str
    label: str = ""
    anchor: str = ""  # the id of the field's input, "" for an error of the whole form


def _form_errors(form: forms.BaseForm, prefix: str = "") -> list[FormError]:
    errors = [FormError(str(message)) for message in form.non_field_errors()]
    for field in form:
        for message in field.errors:
            if field.is_hidden:
                errors.append(FormError(str(message)))
            else:
                label = f"{prefix}{field.label}"
                errors.append(FormError(str(message), label, field.id_for_label))
    return errors


def form_errors(*forms_and_formsets) -> list[FormError]:
    errors: list[FormError] = []
    for item in forms_and_formsets:
        if isinstance(item, forms.BaseFormSet):
            errors += [FormError(str(message)) for message in item.non_form_errors()]
            label = getattr(item, "summary_label", "Ligne")
            for number, form in enumerate(item.forms, 1):
                if form.is_bound and form.errors:
                    errors += _form_errors(form, prefix=f"{label} {number} – ")
        elif isinstance(item, forms.BaseForm) and item.is_bound:
            errors += _form_errors(item)
    return errors


@register.inclusion_tag("core/_error_summary.html", takes_context=True)
def error_summary(context, *forms_and_formsets):
    """``{% error_summary form formset %}``: nothing when they are valid or unbound."""
    return {"errors": form_errors(*forms_and_formsets), "request": context.get("request")}
