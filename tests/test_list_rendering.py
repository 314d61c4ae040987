"""The register's lists render what they did, with less template work per row: the
filters through the flat widget templates, the badges from one tag, the row links
without walking the URL resolver per row (issue 9, point 4)."""

import datetime
import gc
import re

from django.test.utils import override_script_prefix
from django.urls import reverse
from django.utils import timezone

from mesads.ads.filters import ADSFilterForm
from mesads.ads.models import ADS
from mesads.ads.templatetags.ads_badges import ads_badges
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
