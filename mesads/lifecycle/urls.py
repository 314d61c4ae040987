from django.urls import path

from .views import decrees, renewal, transfers

app_name = "lifecycle"

urlpatterns = [
    path("ads/<int:ads_id>/arretes/<str:kind>/", decrees.ads_decree, name="ads_decree"),
    path(
        "ads/<int:ads_id>/arretes/<str:kind>/document.docx",
        decrees.ads_decree_docx,
        name="ads_decree_docx",
    ),
    path(
        "gestionnaires/<int:authority_id>/arrete-nombre-ads/",
        decrees.authority_count_decree,
        name="authority_count_decree",
    ),
    path(
        "modeles-arretes/<str:kind>.docx",
        decrees.shipped_template,
        name="shipped_template",
    ),
    path("ads/<int:ads_id>/renouveler/", renewal.ads_renew, name="ads_renew"),
    path("ads/<int:ads_id>/ceder/", transfers.transfer_create, name="transfer_create"),
    path(
        "gestionnaires/<int:authority_id>/cessions/",
        transfers.authority_transfers,
        name="authority_transfers",
    ),
    path(
        "gestionnaires/<int:authority_id>/cessions/export.xlsx",
        transfers.authority_transfers_export,
        name="authority_transfers_export",
    ),
    path(
        "departements/<str:code>/cessions/",
        transfers.departement_transfers,
        name="departement_transfers",
    ),
    path(
        "departements/<str:code>/cessions/export.xlsx",
        transfers.departement_transfers_export,
        name="departement_transfers_export",
    ),
    path("cessions/prix/", transfers.transfer_prices, name="transfer_prices"),
]
