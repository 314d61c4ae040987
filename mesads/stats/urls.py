from django.urls import path

from . import views

app_name = "stats"

urlpatterns = [
    path("", views.key_figures_page, name="key_figures"),
]
