from django.urls import path

from .views import applications, exchange, public

app_name = "waitinglists"

urlpatterns = [
    # The manager's pages.
    path(
        "gestionnaires/<int:authority_id>/liste-d-attente/",
        applications.application_list,
        name="list",
    ),
    path(
        "gestionnaires/<int:authority_id>/liste-d-attente/inscrire/",
        applications.application_create,
        name="create",
    ),
    path(
        "gestionnaires/<int:authority_id>/liste-d-attente/importer/",
        exchange.list_import,
        name="import",
    ),
    path(
        "gestionnaires/<int:authority_id>/liste-d-attente/export/<str:export_format>/",
        exchange.list_export,
        name="export",
    ),
    path("demandes/<int:application_id>/", applications.application_detail, name="detail"),
    path("demandes/<int:application_id>/modifier/", applications.application_edit, name="edit"),
    path("demandes/<int:application_id>/renouveler/", applications.application_renew, name="renew"),
    path("demandes/<int:application_id>/radier/", applications.application_remove, name="remove"),
    path(
        "demandes/<int:application_id>/attribuer/",
        applications.application_attribute,
        name="attribute",
    ),
    # Public: no login, no personal data.
    path("listes-d-attente/", public.public_search, name="public_search"),
    path("listes-d-attente/<int:authority_id>/", public.public_list, name="public_list"),
    path("listes-d-attente/<int:authority_id>/csv/", public.public_csv, name="public_csv"),
]
