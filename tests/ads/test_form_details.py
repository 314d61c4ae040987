"""Small things of the ADS form a manager trips over (issue 10, point 7)."""

import re

from django.urls import reverse

from tests.ads.test_ads_edit import edit


def label_of(page: str, field_id: str) -> str:
    match = re.search(rf'<label[^>]*for="{field_id}"[^>]*>(.*?)</label>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_no_optional_mark_on_a_box_to_tick(client, manager, complete_ads):
    client.force_login(manager)
    page = client.get(reverse("ads:edit", args=[complete_ads.pk])).content.decode()
    for box in ("id_in_use", "id_attest", "id_drivers-0-DELETE"):
        assert "Optionnel" not in label_of(page, box), box
    assert "(Optionnel)" in label_of(page, "id_holder_phone")  # a field to fill keeps it


def test_one_message_for_one_bad_plate(client, manager, complete_ads):
    client.force_login(manager)
    response = edit(client, complete_ads, vehicle_plate="AB-123-CD-456-EF")
    assert len(response.context["form"].errors["vehicle_plate"]) == 1
