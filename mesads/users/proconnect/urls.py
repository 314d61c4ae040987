from django.urls import path

from . import views

app_name = "proconnect"

# The addresses to register at ProConnect (README, « Se connecter avec ProConnect »):
# the callback as redirect_uri, the logout callback as post_logout_redirect_uri.
urlpatterns = [
    path("connexion/", views.StartView.as_view(), name="start"),
    path("retour/", views.CallbackView.as_view(), name="callback"),
    path("associer/", views.ConfirmLinkView.as_view(), name="confirm_link"),
    path("deconnexion/", views.logout_callback, name="logout_callback"),
]
