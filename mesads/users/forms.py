from django import forms
from django.contrib.auth import forms as auth_forms
from dsfr.forms import DsfrBaseForm


class LoginForm(DsfrBaseForm, auth_forms.AuthenticationForm):
    username = forms.EmailField(
        label="Adresse électronique",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    error_messages = {
        "invalid_login": (
            "Adresse électronique ou mot de passe incorrect. "
            "Après plusieurs échecs, la connexion est bloquée pendant une heure."
        ),
        "inactive": "Ce compte est désactivé.",
    }


class PasswordResetForm(DsfrBaseForm, auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label="Adresse électronique",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class SetPasswordForm(DsfrBaseForm, auth_forms.SetPasswordForm):
    pass
