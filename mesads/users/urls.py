from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .forms import LoginForm, PasswordResetForm
from .proconnect import views as proconnect_views

urlpatterns = [
    path(
        "connexion/",
        proconnect_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    # Django's LogoutView only accepts POST: a link or an image cannot log anyone out.
    # After a ProConnect login it ends the ProConnect session too.
    path("deconnexion/", proconnect_views.LogoutView.as_view(), name="logout"),
    path("proconnect/", include("mesads.users.proconnect.urls")),
    path(
        "mot-de-passe/oubli/",
        auth_views.PasswordResetView.as_view(
            form_class=PasswordResetForm,
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
            extra_email_context={
                "link_validity_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
            },
        ),
        name="password_reset",
    ),
    path(
        "mot-de-passe/oubli/envoye/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe/reinitialiser/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/reinitialise/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("profil/", views.profile, name="profile"),
    path("profil/mot-de-passe/", views.password_change, name="password_change"),
    path("profil/adresse-electronique/", views.email_change, name="email_change"),
]
