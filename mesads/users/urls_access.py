from django.urls import path

from . import views_access as views

app_name = "access"

urlpatterns = [
    # Asking to manage an authority
    path("demander/", views.search, name="search"),
    path("demander/suggestions/", views.suggestions, name="suggestions"),
    path("demander/<int:authority_id>/", views.request_access, name="request"),
    # The prefecture's decisions (and national staff's)
    path("demandes/", views.request_list, name="requests"),
    path("demandes/<int:access_id>/", views.request_detail, name="request_detail"),
    path("demandes/<int:access_id>/accepter/", views.accept, name="accept"),
    path("demandes/<int:access_id>/refuser/", views.refuse, name="refuse"),
    path("demandes/<int:access_id>/revoquer/", views.revoke, name="revoke"),
    # Prefecture staff
    path("prefecture/rejoindre/", views.membership_request, name="membership_request"),
    path("prefecture/agents/", views.membership_list, name="memberships"),
    path(
        "prefecture/agents/<int:membership_id>/accepter/",
        views.membership_accept,
        name="membership_accept",
    ),
    path(
        "prefecture/agents/<int:membership_id>/refuser/",
        views.membership_refuse,
        name="membership_refuse",
    ),
    path("prefecture/gerer/<int:authority_id>/", views.act_as_manager, name="act_as_manager"),
]
