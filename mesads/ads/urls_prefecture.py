"""The prefecture's space (/prefecture/) and its actions on ADS."""

from django.urls import path

from .views import certification, prefecture

app_name = "prefecture"

urlpatterns = [
    path("", prefecture.index, name="index"),
    path("ads/<int:ads_id>/certifier/", certification.ads_certify, name="certify"),
    path("ads/<int:ads_id>/renvoyer/", certification.ads_send_back, name="send_back"),
    path("<str:code>/", prefecture.departement, name="departement"),
    path("<str:code>/modifications/", prefecture.changes, name="changes"),
    path("<str:code>/ads/", prefecture.ads_list, name="ads"),
    path("<str:code>/ads/certifier/", prefecture.ads_certify_bulk, name="certify_bulk"),
    path(
        "<str:code>/gestionnaires/<int:authority_id>/nombre-attendu/",
        prefecture.expected_count,
        name="expected_count",
    ),
]
