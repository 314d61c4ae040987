from django.urls import path

from .api import RelaisChangesView, RelaisListView, RelaisVerificationView

app_name = "relais_api"

urlpatterns = [
    path("verification", RelaisVerificationView.as_view(), name="verification"),
    path("vehicules/", RelaisListView.as_view(), name="list"),
    path("changements/", RelaisChangesView.as_view(), name="changes"),
]
