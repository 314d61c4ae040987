"""The ADS form renders the design system's markup from flat templates
(templates/core/fields/): byte for byte what django-dsfr and Django's widget templates
give, at a fraction of the template work."""

import datetime
import re

from django.forms import CheckboxInput
from django.template import engines
from django.template.loaders.cached import Loader as CachedLoader
from django.urls import reverse
from dsfr.forms import DsfrBoundField

from mesads.ads.forms import ADSForm, DriverFormSet
from mesads.ads.models import Driver
from mesads.core.templatetags.form_widgets import html_attrs


def reference_html(bound_field) -> str:
    """The same field as django-dsfr renders it, through Django's own widget templates."""
    reference = DsfrBoundField(bound_field.form, bound_field.field, bound_field.name)
    bound_field.field.widget.template_name = type(bound_field.field.widget).template_name
    return str(reference.as_field_group() if not bound_field.is_hidden else reference)


def rendered_pairs(form):
    for name in form.fields:
        ours = form[name]
        html = str(ours.as_field_group() if not ours.is_hidden else ours)
        reference = reference_html(form[name])
        if isinstance(form.fields[name].widget, CheckboxInput):
            # A deliberate difference: no « (Optionnel) » beside a box to tick.
            reference = reference.replace("\xa0(Optionnel)", "")
        yield name, html, reference


def all_forms(ads, data=None):
    form = ADSForm(data, instance=ads, authority=ads.authority)
    formset = DriverFormSet(data, instance=ads, prefix="drivers")
    if data is not None:
        form.is_valid()
        formset.is_valid()
    return [form, *formset.forms]


def test_the_ads_form_renders_as_django_dsfr_does(complete_ads, nimes_metropole):
    Driver.objects.create(
        ads=complete_ads,
        status=Driver.Status.LOCATAIRE_GERANT,
        name='Léa "Taxi" <Martin>',
        lease_start_date=datetime.date(2020, 1, 1),
    )
    for form in all_forms(complete_ads):
        for name, ours, reference in rendered_pairs(form):
            assert ours == reference, name


def test_fields_in_error_render_as_django_dsfr_does(complete_ads):
    data = {
        "number": "",
        "creation_date": "pas une date",
        "vehicle_pmr": "peut-être",
        "drivers-TOTAL_FORMS": "1",
        "drivers-INITIAL_FORMS": "0",
        "drivers-0-status": "inconnu",
        "drivers-0-lease_start_date": "31/02/2020",
    }
    forms = all_forms(complete_ads, data)
    assert forms[0].errors and forms[1].errors
    for form in forms:
        for name, ours, reference in rendered_pairs(form):
            # One deliberate difference: a field in error keeps its hint announced.
            ours = re.sub(r'aria-describedby="\S+_helptext ', 'aria-describedby="', ours)
            assert ours == reference, name
    assert 'aria-invalid="true"' in str(forms[0]["number"].as_field_group())
    hinted = [field for form in forms for field in form if field.errors and field.help_text]
    assert hinted
    for field in hinted:
        described = f'aria-describedby="{field.auto_id}_helptext {field.auto_id}-desc-error"'
        assert described in str(field.as_field_group()), field.name


def test_an_epcis_commune_choice_renders_as_django_dsfr_does(nimes_metropole, nimes):
    from mesads.ads.models import ADS

    ads = ADS(authority=nimes_metropole)
    form = ADSForm(instance=ads, authority=nimes_metropole)
    pairs = {name: (ours, reference) for name, ours, reference in rendered_pairs(form)}
    ours, reference = pairs["commune"]
    assert ours == reference
    assert "<option" in ours and "Nîmes" in ours


def test_attributes_are_escaped_as_djangos_attrs_template_does():
    assert html_attrs({"title": '"><script>', "required": True, "disabled": False}) == (
        ' title="&quot;&gt;&lt;script&gt;" required'
    )


def test_the_edit_form_renders_no_template_per_attribute_or_option(client, manager, complete_ads):
    client.force_login(manager)
    response = client.get(reverse("ads:edit", args=[complete_ads.pk]))

    assert response.status_code == 200
    names = [template.name for template in response.templates]
    # Only the formset's four hidden counters (Django's management form) still use them.
    assert names.count("django/forms/widgets/attrs.html") == 4
    assert "django/forms/widgets/select_option.html" not in names
    assert "dsfr/form_field_snippets/input_snippet.html" not in names
    assert names.count("core/fields/field_group.html") > 10


def test_templates_are_compiled_once_per_process(settings):
    """No "loaders" option: Django wraps the loaders in its cached loader (DEBUG or not,
    since Django 4.1), so a page does not read and parse its templates again."""
    assert "loaders" not in settings.TEMPLATES[0]["OPTIONS"]
    engine = engines["django"].engine
    assert isinstance(engine.template_loaders[0], CachedLoader)
