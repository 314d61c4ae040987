"""The « Chiffres clés » page in a real browser (Debian's Chromium): the design system's
charts render under the site's Content-Security-Policy, with no violation and no error
in the console, and axe finds no serious accessibility violation."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse

from mesads.ads.models import ADS
from mesads.stats.snapshots import take_daily_snapshot
from tests.core.test_e2e_accessibility import PHONE, violations
from tests.core.test_e2e_browser import pytestmark as e2e_marks

pytestmark = e2e_marks

# Recorded before any script of the page runs: every CSP violation, whatever its source.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


@pytest.fixture
def register(nimes, ales, montpellier, complete_ads):
    cache.clear()
    ales.declares_no_ads = True
    ales.save()
    ADS.objects.create(authority=nimes, number="13", in_use=False)
    take_daily_snapshot(datetime.date.today() - datetime.timedelta(days=40))
    take_daily_snapshot(datetime.date.today())
    yield
    cache.clear()


def _open(page, messages: list[str]):
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda m: messages.append(m.text) if m.type in ("error", "warning") else 0)
    page.on("pageerror", lambda error: messages.append(str(error)))
    response = page.goto(reverse("stats:key_figures"))
    assert response.status == 200
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    # The custom elements are upgraded and drawn: a canvas per chart, the map's SVG.
    page.locator("line-chart canvas").first.wait_for()
    page.locator("bar-chart canvas").wait_for()
    page.locator("map-chart svg .FR-30").wait_for()


@pytest.mark.django_db(transaction=True)
def test_the_charts_render_under_the_csp_with_nothing_in_the_console(page, register):
    messages: list[str] = []
    _open(page, messages)

    assert page.locator("line-chart canvas").count() == 2  # ADS by month, shares over time
    # The Gard (2 authorities out of 2 declared) is coloured, not left grey.
    assert page.locator("map-chart svg .FR-30").get_attribute("fill") not in (None, "")
    # Hovering draws the tooltips, whose colour dots once carried an inline style.
    for chart in ("bar-chart canvas", "line-chart canvas"):
        canvas = page.locator(chart).first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        for height in (0.3, 0.5, 0.7):
            for step in range(1, 40):
                x, y = box["x"] + box["width"] * step / 40, box["y"] + box["height"] * height
                page.mouse.move(x, y)
    page.locator("map-chart svg .FR-30").hover()
    # The charts' tooltips were written (their values are « fr-mb-0 » paragraphs), their
    # colour dots coloured through the CSSOM.
    dots = page.locator(".tooltip_value-content:has(.tooltip_place.fr-mb-0) .tooltip_dot")
    colours = dots.evaluate_all("(dots) => dots.map((dot) => dot.style.backgroundColor)")
    assert colours and all(colour.startswith("rgb") for colour in colours), colours

    assert page.evaluate("window.cspViolations") == []
    assert messages == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_serious_violation_on_the_charts_page(page, register, viewport):
    if viewport:
        page.set_viewport_size(viewport)
    _open(page, [])

    assert violations(page) == []
