"""The register's lists render what they did, with less template work per row: the
filters through the flat widget templates, the badges from one tag, the row links
without walking the URL resolver per row, every {% url %} and the empty filters
rendered once per process (issue 9, point 4)."""

import datetime
import gc
import re

import pytest
from django.template import Context, Engine, Template
from django.test.utils import override_script_prefix
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from mesads.ads.filters import ADSFilterForm
from mesads.ads.models import ADS
from mesads.ads.templatetags.ads_badges import ads_badges
from mesads.ads.templatetags.ads_rows import ads_row
from mesads.core.forms import EMPTY_FIELDS
from mesads.core.templatetags.memo_url import MemoURLNode, cached_reverse
from mesads.core.templatetags.pk_urls import pk_url
from mesads.core.warmup import warm_up_and_freeze


def _badges(ads, **kwargs) -> list[str]:
    return re.findall(r'<p class="fr-badge [^"]+">([^<]+)</p>', ads_badges(ads, **kwargs))


def test_a_row_link_is_the_one_reverse_gives(complete_ads):
    assert pk_url("ads:detail", complete_ads.pk) == reverse("ads:detail", args=[complete_ads.pk])
    assert pk_url("ads:authority", 7) == reverse("ads:authority", args=[7])
    with override_script_prefix("/registre/"):
        assert reverse("ads:detail", args=[12]).startswith("/registre/")
        assert pk_url("ads:detail", 12) == reverse("ads:detail", args=[12])


def test_the_badges_say_each_status_of_the_model(complete_ads):
    assert _badges(complete_ads) == ["Exploitée", "Complète", "Non attestée", "Non certifiée"]

    now = timezone.now()
    complete_ads.in_use = False
    complete_ads.is_complete = False
    complete_ads.attested_at = now - datetime.timedelta(days=400)
    complete_ads.certified_at = now - datetime.timedelta(days=2)
    complete_ads.substantive_change_at = now - datetime.timedelta(days=1)
    complete_ads.deleted_at = now
    assert _badges(complete_ads) == [
        "Supprimée",
        "Vacante",
        "À compléter",
        "À vérifier",
        "À recertifier",
    ]

    complete_ads.attested_at = now
    complete_ads.substantive_change_at = None
    assert _badges(complete_ads)[-2:] == ["Attestée", "Certifiée"]


def test_the_list_says_when_a_renewal_is_overdue(complete_ads):
    complete_ads.creation_date = datetime.date(2015, 3, 1)
    complete_ads.last_renewal_date = datetime.date(2016, 3, 1)
    assert complete_ads.is_renewal_overdue()
    assert "Renouvellement dépassé" in _badges(complete_ads, renewal=True)
    assert "Renouvellement dépassé" not in _badges(complete_ads)


def test_the_manager_sees_the_badges_and_links_in_the_list(client, manager, complete_ads):
    ADS.objects.filter(pk=complete_ads.pk).update(in_use=False)
    client.force_login(manager)
    response = client.get(reverse("ads:list", args=[complete_ads.authority_id]))

    html = response.content.decode()
    assert f'href="{reverse("ads:detail", args=[complete_ads.pk])}"' in html
    assert '<p class="fr-badge fr-badge--warning fr-badge--sm">Vacante</p>' in html
    # The filters' widgets come from the flat templates, not one template per option.
    names = [template.name for template in response.templates]
    assert "django/forms/widgets/select_option.html" not in names
    assert "ads/_ads_badges.html" not in names


def test_the_filters_render_as_djangos_own_widget_templates_do():
    ours = ADSFilterForm({"exploitation": "vacante", "cpam": "on", "q": 'a"b'})
    reference = ADSFilterForm({"exploitation": "vacante", "cpam": "on", "q": 'a"b'})
    for field in reference.fields.values():
        field.widget.template_name = type(field.widget).template_name
    for name in ours.fields:
        assert ours[name].as_widget().strip() == reference[name].as_widget().strip(), name


def test_an_app_server_sets_what_it_loaded_aside_from_the_garbage_collector():
    try:
        warm_up_and_freeze()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


# --- URLs and empty filters, rendered once per process ---------------------------------


def _with_djangos_url_tag(source: str, context: dict) -> str:
    """``source`` rendered by Django's own {% url %} (the engine without our builtin)."""
    return Engine(builtins=[]).from_string(source).render(Context(context))


def test_the_url_tag_gives_what_djangos_gives(complete_ads, rf):
    sources = [
        "{% url 'home' %}",
        "{% url 'ads:detail' ads.pk %}",
        "{% url 'ads:detail' ads_id=ads.pk %}",
        "{% url 'ads:list' authority %}",  # an object: Django's tag reverses str(object)
        "{% url 'api:documentation' as doc %}[{{ doc }}]",
        "{% url 'does-not-exist' as missing %}[{{ missing }}]",
    ]
    context = {"ads": complete_ads, "authority": complete_ads.authority_id}
    hits = cached_reverse.cache_info().hits
    for source in sources:
        template = Template(source)
        assert isinstance(template.nodelist[0], MemoURLNode)
        for _ in range(2):  # reversed, then from the cache
            assert template.render(Context(context)) == _with_djangos_url_tag(source, context)
    # The second rendering of each plain URL came from the cache, not the resolver.
    assert cached_reverse.cache_info().hits - hits >= 4
    with override_script_prefix("/registre/"):
        assert Template("{% url 'home' %}").render(Context()) == "/registre/"


def test_the_url_tag_tells_true_from_one(complete_ads):
    source = "{% url 'ads:detail' ads_id %}"
    assert Template(source).render(Context({"ads_id": 1})) == "/ads/1/"
    # Django refuses True as an id; a cached "/ads/1/" must not answer for it.
    with pytest.raises(NoReverseMatch):
        Template(source).render(Context({"ads_id": True}))


def test_the_url_tag_forgets_its_urls_when_the_urlconf_changes(settings):
    assert Template("{% url 'home' %}").render(Context()) == "/"
    settings.ROOT_URLCONF = "tests.core.test_error_page"  # no page named « home » there
    with pytest.raises(NoReverseMatch):
        Template("{% url 'home' %}").render(Context())


def test_an_unknown_url_name_still_fails_loudly():
    with pytest.raises(NoReverseMatch):
        Template("{% url 'does-not-exist' %}").render(Context())


def test_empty_filters_render_once_and_as_a_fresh_form_does():
    class Fresh(ADSFilterForm):
        static_fields = False

    for data in (None, {"page": "3"}, {"q": "Martin"}, {"exploitation": "nope"}):
        for _ in range(2):  # rendered, then from the cache
            ours, fresh = ADSFilterForm(data), Fresh(data)
            for name in ours.fields:
                assert ours[name].as_field_group() == fresh[name].as_field_group(), (data, name)
    # The empty fields of ADSFilterForm were rendered once and kept; Fresh's never are.
    kept = {key[:2] for key in EMPTY_FIELDS}
    assert (ADSFilterForm, "exploitation") in kept
    assert not any(form is Fresh for form, _ in kept)
    # A value or an error is the form's own, never a cached empty field.
    assert 'value="Martin"' in ADSFilterForm({"q": "Martin"})["q"].as_field_group()
    assert (
        "fr-select-group--error"
        in ADSFilterForm({"exploitation": "nope"})["exploitation"].as_field_group()
    )


# The row template the list included before the ads_row tag.
ROW_TEMPLATE = """{% load ads_badges pk_urls %}<tr>
  <th scope="row" class="mesads-nowrap"><a href="{% pk_url "ads:detail" ads.pk %}">ADS n° {{ ads.number }}</a></th>
  <td>{{ ads.holder_name|default:"—" }}</td>
  <td class="mesads-nowrap">{{ ads.vehicle_plate|default:"—" }}</td>
  <td>{{ ads.creation_date|date:"d/m/Y"|default:"—" }}{% if ads.is_new_regime %} <span class="fr-badge fr-badge--sm fr-badge--blue-ecume">Nouvelle</span>{% endif %}</td>
  <td>{% ads_badges ads renewal=True %}</td>
</tr>
"""  # noqa: E501


def test_a_list_row_is_what_the_row_template_wrote(complete_ads):
    template = Template(ROW_TEMPLATE)
    variants = [
        {},
        {"holder_name": "", "vehicle_plate": "", "creation_date": None},
        {"holder_name": "<Taxi & Fils>", "number": '12"b'},
        {"holder_name": "L'Étoile", "vehicle_plate": "AB'12"},
        {"creation_date": datetime.date(2015, 3, 1), "last_renewal_date": None},
        {"creation_date": datetime.date(987, 1, 2)},
        {"in_use": False, "deleted_at": timezone.now()},
    ]
    for changes in variants:
        for name, value in changes.items():
            setattr(complete_ads, name, value)
        expected = template.render(Context({"ads": complete_ads}))
        assert ads_row(complete_ads) == expected, changes
