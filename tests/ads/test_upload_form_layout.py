"""The document and decree upload forms are laid out by the design system like the ADS
form (issue 10, point 5): one field under the other, each error in its own field group,
not fields side by side with a bare list of errors."""

import re

from django.urls import reverse

from tests.ads.test_ads_documents import post_document

GROUP = re.compile(r'<div class="fr-fieldset__element"><div class="(fr-[a-z]+-group[^"]*)"')


def field_groups(page: str) -> list[str]:
    return GROUP.findall(page)


def test_the_document_form_has_one_field_group_per_field(client, manager, complete_ads):
    client.force_login(manager)
    page = client.get(reverse("ads:document_create", args=[complete_ads.pk])).content.decode()
    assert field_groups(page) == ["fr-select-group", "fr-upload-group"]

    refused = post_document(client, complete_ads, content=b"rien d'un PDF").content.decode()
    assert field_groups(refused) == ["fr-select-group", "fr-upload-group fr-upload-group--error"]
    assert 'id="id_file-desc-error"' in refused


def test_the_decree_form_has_one_field_group_per_field(client, manager, nimes):
    client.force_login(manager)
    page = client.get(reverse("ads:decree_create", args=[nimes.pk])).content.decode()
    assert field_groups(page) == ["fr-input-group", "fr-input-group", "fr-upload-group"]
