"""Accessibility as a regression test (issue 10, point 22): axe-core (axe-playwright-
python, which ships it) runs in Debian's Chromium on the pages of each persona, on a
phone's width too, and on the public pages; a serious or critical violation fails."""

import datetime

import pytest
from django.urls import reverse

from mesads.ads.models import ADS, Driver
from tests.core.test_e2e_browser import _login
from tests.core.test_e2e_browser import pytestmark as e2e_marks

pytestmark = e2e_marks
PHONE = {"width": 375, "height": 812}


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{page.url} {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def audit(page, urls: list[str]) -> list[str]:
    found = []
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, (url, response.status)
        found += violations(page)
    return found


@pytest.fixture
def register(nimes, manager):
    ads = ADS.objects.create(
        authority=nimes,
        number="2021-0042",
        creation_date=datetime.date(2010, 1, 4),
        holder_name="Taxi Arènes",
        vehicle_plate="AB-123-CD",
    )
    Driver.objects.create(ads=ads, status=Driver.Status.SALARIE, name="Jean Martin")
    return ads


@pytest.mark.django_db(transaction=True)
def test_the_public_pages(page):
    public = ["accessibility", "legal_notice", "personal_data", "regulation", "faq", "site_map"]
    urls = [reverse(name) for name in ["home", "login", "password_reset", *public]]
    found = audit(page, urls)
    assert found == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_managers_pages(page, manager, nimes, register, viewport):
    if viewport:
        page.set_viewport_size(viewport)
    _login(page, manager.email)
    urls = [
        reverse("home"),
        reverse("ads:authorities"),
        reverse("ads:authority", args=[nimes.pk]),
        reverse("ads:list", args=[nimes.pk]),
        reverse("ads:detail", args=[register.pk]),
        reverse("ads:edit", args=[register.pk]),
        reverse("ads:history", args=[register.pk]),
        reverse("ads:document_create", args=[register.pk]),
        reverse("ads:create", args=[nimes.pk]),
        reverse("access:search"),
        reverse("exchange:index"),
        reverse("profile"),
    ]
    assert audit(page, urls) == []


@pytest.mark.django_db(transaction=True)
def test_a_prefecture_agents_pages(page, prefecture_agent, gard, register):
    _login(page, prefecture_agent.email)
    urls = [
        reverse("prefecture:index"),
        reverse("access:requests"),
        reverse("ads:detail", args=[register.pk]),
    ]
    assert audit(page, urls) == []


@pytest.mark.django_db(transaction=True)
def test_national_staffs_pages_and_the_admin(page, staff, register):
    staff.is_superuser = True
    staff.save()
    page.goto(reverse("admin:login"))
    found = violations(page)
    _login(page, staff.email)
    urls = [
        reverse("ads:authorities"),
        reverse("admin:index"),
        reverse("admin:exchange_importjob_changelist"),
        reverse("admin:exchange_importjob_import"),
    ]
    assert found + audit(page, urls) == []
