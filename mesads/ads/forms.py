from django import forms
from django.forms import inlineformset_factory
from django.forms.formsets import TOTAL_FORM_COUNT
from dsfr.forms import DsfrBaseForm, DsfrBoundField
from dsfr.templatetags.dsfr_tags import dsfr_mark_optionnal_fields
from dsfr.utils import dsfr_input_class_attr

from mesads.authorities.models import Authority
from mesads.core.forms import FLAT_WIDGET_TEMPLATES

from .models import ADS, Driver

# The ADS form renders some fifty fields per page (drivers included), through the flat
# widget templates and, for each field group, the flat templates below.
FIELD_GROUP_TEMPLATES = {
    "dsfr/form_field_snippets/input_snippet.html": "core/fields/field_group.html",
    "dsfr/form_field_snippets/checkbox_snippet.html": "core/fields/checkbox_group.html",
}


class DsfrFieldGroup(DsfrBoundField):
    """A design-system field group (label, hint, widget, errors) rendered from a flat
    context: what django-dsfr's snippet looks up, computed once in Python."""

    @property
    def template_name(self) -> str:
        name = super().template_name
        return FIELD_GROUP_TEMPLATES.get(name, name)

    def get_context(self) -> dict:
        if self.template_name not in FIELD_GROUP_TEMPLATES.values():
            return super().get_context()
        widget = self.field.widget
        # The snippet's filter: design-system classes, and aria-invalid on an error.
        dsfr_input_class_attr(self)
        errors = self.errors if self.form._errors else None
        if errors and self.help_text:
            # django-dsfr points the input to its error only: the hint is announced too.
            described_by = f"{self.id_for_label}_helptext {self.auto_id}-desc-error"
            widget.attrs["aria-describedby"] = described_by
        return {
            "field": self,
            "group_class": getattr(widget, "group_class", None) or "fr-input-group",
            "errors": errors,
            "disabled": self.field.disabled,
            "id_for_label": self.id_for_label,
            "auto_id": self.auto_id,
            "label": self.label,
            # A box to tick is never "required": « (Optionnel) » beside it says nothing.
            "optional_marker": ""
            if isinstance(widget, forms.CheckboxInput)
            else dsfr_mark_optionnal_fields(self),
            "help_text": self.help_text,
            "widget": self.as_widget(),
        }

    def as_widget(self, widget=None, attrs=None, only_initial=False):
        # Here rather than in the form's __init__: a formset adds its fields (id,
        # DELETE) after that. Each form has its own copy of its widgets.
        widget = widget or self.field.widget
        widget.template_name = FLAT_WIDGET_TEMPLATES.get(widget.template_name, widget.template_name)
        return super().as_widget(widget, attrs, only_initial)


class FlatDsfrForm(DsfrBaseForm):
    """django-dsfr's base form, rendered through the flat templates above."""

    bound_field_class = DsfrFieldGroup


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


ADS_NUMBER_TAKEN = "Ce gestionnaire a déjà une ADS n° {number} : chaque numéro est unique."


class YesNoUnknownSelect(forms.NullBooleanSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", "Non renseigné"), ("true", "Oui"), ("false", "Non")]


class ADSForm(FlatDsfrForm, forms.ModelForm):
    # The version the user started from: a save based on an older one is a conflict.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    comment = forms.CharField(
        label="Commentaire pour l’historique",
        help_text="Facultatif : pourquoi cette modification (ex. : changement de véhicule).",
        required=False,
        max_length=255,
    )
    # The manager vouches for the record at each save (and at least once a year): the
    # prefecture certifies what the manager attested.
    attest = forms.BooleanField(
        label="Je certifie l’exactitude des informations saisies",
        help_text="Obligatoire pour enregistrer : la date et votre nom sont conservés.",
        required=True,
        error_messages={
            "required": "Cochez cette case pour certifier l’exactitude des informations saisies."
        },
    )

    class Meta:
        model = ADS
        fields = [
            "number",
            "commune",
            "creation_date",
            "attribution_date",
            "last_renewal_date",
            "in_use",
            "holder_name",
            "holder_siret",
            "holder_phone",
            "holder_email",
            "vehicle_plate",
            "vehicle_pmr",
            "vehicle_low_emission",
            "cpam_agreement",
            "notes",
        ]
        widgets = {
            "creation_date": DateInput(),
            "attribution_date": DateInput(),
            "last_renewal_date": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "vehicle_pmr": YesNoUnknownSelect(),
            "vehicle_low_emission": YesNoUnknownSelect(),
            "holder_phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        }

    def __init__(self, *args, authority: Authority, **kwargs):
        super().__init__(*args, **kwargs)
        self.authority = authority
        self.instance.authority = authority
        if not self.instance.pk:
            self.fields["version"].initial = None
        else:
            self.fields["version"].initial = self.instance.version
        # SIRET and plate fields hold the normalised value; people type them with spaces.
        self.fields["holder_siret"].widget.attrs["maxlength"] = 20
        self.fields["vehicle_plate"].widget.attrs["maxlength"] = 16
        self.fields["holder_phone"].widget.attrs["maxlength"] = 25
        self.fields["holder_siret"].max_length = 20
        self.fields["vehicle_plate"].max_length = 16
        self.fields["holder_phone"].max_length = 25
        for name in ("holder_siret", "vehicle_plate", "holder_phone"):
            self.fields[name].validators = []
        if authority.type == Authority.Type.EPCI:
            self.fields["commune"].queryset = authority.epci.members.order_by("name")
            self.fields["commune"].required = False
        else:
            del self.fields["commune"]

    def number_is_taken(self, number: str | None = None) -> bool:
        number = number if number is not None else self.cleaned_data.get("number", "")
        taken = ADS.objects.live().filter(authority=self.authority, number=number)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        return taken.exists()

    def clean_number(self) -> str:
        number = self.cleaned_data["number"].strip()
        if self.number_is_taken(number):
            raise forms.ValidationError(ADS_NUMBER_TAKEN.format(number=number))
        return number


class DriverForm(FlatDsfrForm, forms.ModelForm):
    class Meta:
        model = Driver
        fields = ["status", "name", "siret", "card_number", "lease_start_date"]
        widgets = {"lease_start_date": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["siret"].max_length = 20
        self.fields["siret"].validators = []
        self.fields["siret"].widget.attrs["maxlength"] = 20


FOREIGN_DRIVER = (
    "Un conducteur envoyé n’est pas (ou plus) rattaché à cette ADS : "
    "rechargez la page puis refaites vos modifications."
)


class BaseDriverFormSet(forms.BaseInlineFormSet):
    summary_label = "Conducteur"  # « Conducteur 2 – Nom : … » in the error summary

    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        # Django accepts here the id of any driver of the register, and builds a new
        # driver from the data when the id is not one of this ADS's: a copy in this ADS,
        # or an IntegrityError on a new-regime one. The id must be the form's own driver
        # (none for a new one); a foreign, unknown or deleted id gets the same message.
        field = form.fields["id"]
        field.queryset = field.queryset.filter(pk=form.instance.pk)
        field.error_messages = {**field.error_messages, "invalid_choice": FOREIGN_DRIVER}

    def kept_drivers(self) -> list[Driver]:
        """The drivers the ADS will have once saved (built from valid, non-deleted forms)."""
        return [
            form.instance
            for form in self.forms
            if form.is_valid()
            and (form.has_changed() or form.instance.pk)
            and not self._should_delete_form(form)
        ]

    def clean(self) -> None:
        super().clean()
        # The id is a hidden field: its error would not show on the page.
        if any("id" in form.errors for form in self.forms):
            raise forms.ValidationError(FOREIGN_DRIVER)
        if any(form.errors for form in self.forms):
            return
        errors = self.instance.validate_drivers(self.kept_drivers())
        if errors:
            raise forms.ValidationError(errors)

    def refusals_to_add(self, ads: ADS) -> list[str]:
        """Why no row for one more driver may be offered on ``ads`` (as typed: its regime
        decides), in French; empty when it may."""
        rows = self.total_form_count()
        if rows >= self.max_num:
            return [f"Le formulaire ne peut pas compter plus de {self.max_num} conducteurs."]
        # The model's rules, asked about blank drivers: what it objects to for one more
        # row and not for a single driver is a rule on how many drivers the ADS may have
        # (a new-regime ADS has only its holder).
        single = ads.validate_drivers([Driver()])
        return [
            error
            for error in ads.validate_drivers([Driver() for _ in range(rows + 1)])
            if error not in single
        ]

    def with_another_row(self) -> "BaseDriverFormSet":
        """This bound formset with one more empty row, to render again with what was
        typed. The row is an extra one: left empty, it is no driver and has no error."""
        data = self.data.copy()
        data[self.add_prefix(TOTAL_FORM_COUNT)] = str(self.total_form_count() + 1)
        return type(self)(data, instance=self.instance, prefix=self.prefix)


DriverFormSet = inlineformset_factory(
    ADS,
    Driver,
    form=DriverForm,
    formset=BaseDriverFormSet,
    extra=1,
    can_delete=True,
    max_num=20,
)


class ADSDeleteForm(DsfrBaseForm):
    comment = forms.CharField(
        label="Motif de la suppression",
        help_text="Il sera conservé dans l’historique de l’ADS.",
        max_length=255,
    )
