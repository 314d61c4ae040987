"""A decree uploaded while the media storage cannot take it (OPERATIONS.md #16): a clear
French message on the form, no row, and no partial or empty file left behind."""

import pytest

from mesads.ads.models import ADSDocument
from tests.ads.test_ads_documents import post_document


@pytest.fixture
def unwritable_media(settings, tmp_path):
    # A real file where a folder should be: every write under it fails with ENOTDIR,
    # as it does for root too (chmod would not stop root).
    blocker = tmp_path / "media-blocker"
    blocker.write_text("not a folder")
    settings.MEDIA_ROOT = blocker / "media"
    return blocker


def test_an_upload_to_an_unwritable_storage_is_refused_cleanly(
    client, manager, complete_ads, unwritable_media, tmp_path
):
    client.force_login(manager)
    response = post_document(client, complete_ads)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Le document n’a pas pu être enregistré" in page
    assert "Rien n’a été enregistré" in page
    assert not ADSDocument.objects.exists()
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p != unwritable_media]
    assert leftovers == []
