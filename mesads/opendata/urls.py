from django.urls import path, register_converter

from . import views
from .models import Publication


class DatasetConverter:
    """Only the published files' names: any other address is the site's 404."""

    regex = "|".join(Publication.Dataset.values)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DatasetConverter, "dataset")

app_name = "opendata"
urlpatterns = [
    path("", views.index, name="index"),
    path("<dataset:dataset>.csv", views.download, name="download"),
    path("schemas/<dataset:dataset>.json", views.schema, name="schema"),
]
