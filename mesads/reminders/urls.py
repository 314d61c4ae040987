from django.urls import path

from . import views

app_name = "reminders"

urlpatterns = [
    path("", views.campaign_list, name="campaigns"),
    path("nouvelle/", views.campaign_create, name="campaign_create"),
    path("<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("<int:campaign_id>/modifier/", views.campaign_edit, name="campaign_edit"),
    path("<int:campaign_id>/envoyer/", views.campaign_send, name="campaign_send"),
]
