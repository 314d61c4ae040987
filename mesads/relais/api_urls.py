from django.urls import path

from .api import RelaisListView, RelaisVerificationView

app_name = "relais_api"

urlpatterns = [
    path("verification", RelaisVerificationView.as_view(), name="verification"),
    path("vehicules/", RelaisListView.as_view(), name="list"),
]
