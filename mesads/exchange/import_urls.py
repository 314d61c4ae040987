"""Imports of the register: included under ``imports/`` with the namespace ``imports``.
(The admin keeps its own upload and confirmation, ``admin.py``.)"""

from django.urls import path

from . import import_views

app_name = "imports"

urlpatterns = [
    path("", import_views.import_index, name="index"),
    path("<int:job_id>/confirmer/", import_views.import_confirm, name="confirm"),
    path("modele.xlsx", import_views.import_template, name="template"),
    path("<int:job_id>/", import_views.import_progress, name="progress"),
    path("<int:job_id>/relancer/", import_views.import_restart, name="restart"),
    path("<int:job_id>/erreurs.csv", import_views.import_errors_csv, name="errors"),
]
