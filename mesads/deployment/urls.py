"""« Suivi du déploiement » (/deploiement/): national staff only."""

from django.urls import path

from .views import activity, followup

app_name = "deployment"

urlpatterns = [
    path("", followup.index, name="index"),
    path("prefectures/", followup.prefectures, name="prefectures"),
    path("export.xlsx", followup.national_export, name="export"),
    path("activite/", activity.activity_page, name="activity"),
    path("activite/export.xlsx", activity.activity_export, name="activity_export"),
    path("<str:code>/", followup.departement, name="departement"),
    path("<str:code>/export.xlsx", followup.departement_export, name="departement_export"),
]
