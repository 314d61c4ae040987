"""National staff unlink a ProConnect identity in the admin (a person whose administration
changed identity provider arrives with a new subject)."""

from django.urls import reverse


def test_staff_unlink_a_proconnect_identity_in_the_admin(client, staff, manager):
    manager.proconnect_sub = "ancien-sujet"
    manager.save(update_fields=["proconnect_sub"])
    client.force_login(staff)
    url = reverse("admin:users_user_change", args=[manager.pk])
    page = client.get(url)
    assert "ancien-sujet" in page.content.decode()
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "proconnect_sub": "",
            "date_joined_0": manager.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": manager.date_joined.strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
            # The read-only inline of ProConnect links.
            "proconnect_links-TOTAL_FORMS": "0",
            "proconnect_links-INITIAL_FORMS": "0",
        }
    )
    data = {k: v for k, v in data.items() if k not in {"last_login", "date_joined", "password"}}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    manager.refresh_from_db()
    # NULL, not "": several unlinked accounts never collide on the unique subject.
    assert manager.proconnect_sub is None
