from django.db import transaction
from django.urls import path

from .views.ads import ADSDetailView, ADSListView, VerificationView
from .views.authorities import AuthorityListView
from .views.changes import ChangesView
from .views.docs import DocumentationPage, SchemaView, SwaggerView

app_name = "api"

urlpatterns = [
    path("", DocumentationPage.as_view(), name="documentation"),
    path("schema/", transaction.non_atomic_requests(SchemaView.as_view()), name="schema"),
    path("explorer/", SwaggerView.as_view(url_name="api:schema"), name="swagger"),
    path("ads/verification", VerificationView.as_view(), name="verification"),
    path("ads/", ADSListView.as_view(), name="ads_list"),
    # Any segment, so that a malformed id gets the API's JSON 404, not the site's page.
    path("ads/<str:ads_id>", ADSDetailView.as_view(), name="ads_detail"),
    path("changements/", ChangesView.as_view(), name="changes"),
    path("gestionnaires/", AuthorityListView.as_view(), name="authorities"),
]
