"""Swagger UI in a real browser (Debian's Chromium) under the site's strict CSP: it loads
the schema, lists every operation and triggers no Content-Security-Policy violation."""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_the_explorer_shows_every_operation_without_a_csp_violation(live_server):
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(base_url=live_server.url)
            console = []
            page.on("console", lambda message: console.append(message.text))
            page.goto("/api/v1/explorer/")
            page.wait_for_selector(".opblock", timeout=30_000)
            operations = page.locator(".opblock-summary-path").all_inner_texts()
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    assert sorted(operations) == sorted(
        [
            "/api/v1/ads/",
            "/api/v1/ads/{ads_id}",
            "/api/v1/ads/verification",
            "/api/v1/changements/",
            "/api/v1/gestionnaires/",
            "/api/v1/relais/changements/",
            "/api/v1/relais/vehicules/",
            "/api/v1/relais/verification",
        ]
    )
    assert not [text for text in console if "Content Security Policy" in text]
