from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth import forms as auth_forms
from django.core import validators
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template import loader
from django.views.decorators.debug import sensitive_variables
from dsfr.forms import DsfrBaseForm

from mesads.core.http import site_url

from .models import FailedEmail, User

PASSWORD_MAX_LENGTH = 128

# Plain French guidance shown under every "new password" field, in place of the list
# Django builds from the validators (an HTML list that cannot sit in the design system's
# hint <span>). Keep it in line with AUTH_PASSWORD_VALIDATORS.
NEW_PASSWORD_HELP_TEXT = (
    "Au moins 12 caractères. Une phrase de passe de plusieurs mots, facile à retenir "
    "pour vous, est une bonne idée ; les espaces sont permis. Évitez les mots de passe "
    "courants, ceux qui reprennent votre nom ou votre adresse électronique, et ceux que "
    "vous utilisez sur d’autres sites."
)


class MaximumLengthValidator:
    """Refuse passwords longer than max_length (AUTH_PASSWORD_VALIDATORS).

    Checking a new password (similarity to the user's name and address, the common-password
    list) costs time that grows with its length; a bound far above any passphrase keeps a
    megabyte-long value from being processed. The hash itself is not the issue: PBKDF2
    reduces the password to one block first.
    """

    def __init__(self, max_length: int = PASSWORD_MAX_LENGTH):
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                "Ce mot de passe est trop long. Il doit contenir au maximum "
                "%(max_length)d caractères.",
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self) -> str:
        return f"Votre mot de passe doit contenir au maximum {self.max_length} caractères."


class FieldsetForm(DsfrBaseForm):
    """A form rendered inside a DSFR fieldset: each field in its own fr-fieldset__element,
    so that the fields stack at full width instead of sharing one flex row."""

    template_name = "registration/_fieldset_fields.html"


def _new_password_fields() -> tuple[forms.CharField, forms.CharField]:
    new_password1, new_password2 = auth_forms.SetPasswordMixin.create_password_fields(
        label1="Nouveau mot de passe", label2="Confirmation du nouveau mot de passe"
    )
    new_password1.help_text = NEW_PASSWORD_HELP_TEXT
    new_password2.help_text = "Saisissez le même mot de passe une seconde fois."
    for field in (new_password1, new_password2):
        # Checked on the field, so that a huge value never reaches the password
        # validators. No maxlength attribute: a browser would silently cut a pasted
        # password, and the person would never be able to type the one they "chose".
        field.validators.append(validators.MaxLengthValidator(PASSWORD_MAX_LENGTH))
    return new_password1, new_password2


def _current_password_field(autofocus: bool = False) -> forms.CharField:
    attrs = {"autocomplete": "current-password"}
    if autofocus:
        attrs["autofocus"] = True
    return forms.CharField(
        label="Mot de passe actuel",
        help_text="Par sécurité, confirmez votre identité avant ce changement.",
        strip=False,
        widget=forms.PasswordInput(attrs=attrs),
    )


class LoginForm(FieldsetForm, auth_forms.AuthenticationForm):
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


class PasswordResetForm(FieldsetForm, auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label="Adresse électronique",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def get_users(self, email: str):
        # The same lookup as the login: exact on the normalised form, look-alikes refused.
        if not User.objects.is_canonical_email(email):
            return iter(())
        return (
            user
            for user in User.objects.filter(email=User.objects.normalize_email(email))
            if user.is_active and user.has_usable_password()
        )

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        """Queue the link instead of sending it in the request: the page answers the same,
        in the same time, for a known and an unknown address, and a hung mail server
        cannot hold the request."""
        from .notifications import queue_quietly

        # The link leads to the service's address, not to the request's Host.
        context = {**context, "site_url": site_url()}
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        queue_quietly(to_email, subject, body, kind=FailedEmail.Kind.PASSWORD_RESET)


class SetPasswordForm(FieldsetForm, auth_forms.SetPasswordForm):
    new_password1, new_password2 = _new_password_fields()


class ReauthenticationMixin:
    """Checks the "mot de passe actuel" field (current_password) like a login.

    The check goes through authenticate(), not check_password(): a stolen session used to
    guess the password from this form meets the same lockout as the login page, and each
    wrong guess is in the login audit.
    """

    request: HttpRequest
    user: User

    @sensitive_variables("password")
    def clean_current_password(self) -> str:
        password = self.cleaned_data["current_password"]
        user = authenticate(self.request, username=self.user.email, password=password)
        if user is None or user.pk != self.user.pk:
            raise ValidationError(
                "Le mot de passe actuel est incorrect.", code="password_incorrect"
            )
        return password


class PasswordChangeForm(ReauthenticationMixin, FieldsetForm, auth_forms.SetPasswordForm):
    current_password = _current_password_field(autofocus=True)
    new_password1, new_password2 = _new_password_fields()

    field_order = ["current_password", "new_password1", "new_password2"]

    def __init__(self, request: HttpRequest, *args, **kwargs):
        self.request = request
        super().__init__(request.user, *args, **kwargs)

    def clean(self):
        # A wrong current password stops here: the new one is not even looked at.
        if self.has_error("current_password"):
            return self.cleaned_data
        return super().clean()


class EmailChangeForm(ReauthenticationMixin, FieldsetForm):
    # A plain form, not a ModelForm on request.user: an invalid submission must not leave
    # the new address on the logged-in user object while the page is re-rendered.
    email = forms.EmailField(
        label="Nouvelle adresse électronique",
        max_length=User._meta.get_field("email").max_length,
        help_text="Vous vous connecterez avec cette adresse et les courriels de Mes ADS y "
        "seront envoyés. Format attendu : nom@domaine.fr",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    current_password = _current_password_field()

    def __init__(self, request: HttpRequest, *args, **kwargs):
        self.request = request
        self.user = request.user
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        if not User.objects.is_canonical_email(self.cleaned_data["email"]):
            raise ValidationError(
                "Cette adresse contient des caractères qui imitent des lettres ordinaires "
                "(par exemple « ı » ou « ſ ») : saisissez-la en lettres simples.",
                code="look_alike",
            )
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if email == User.objects.normalize_email(self.user.email):
            raise ValidationError("C’est déjà l’adresse de votre compte.", code="unchanged")
        # Addresses are unique whatever their case (constraint user_email_ci_unique).
        if User.objects.filter(email=email).exclude(pk=self.user.pk).exists():
            raise ValidationError(
                "Un autre compte Mes ADS utilise déjà cette adresse électronique.",
                code="unique",
            )
        # "equıpe-nationale@…" beside "equipe-nationale@…": one skeleton (TR 39).
        if User.objects.lookalike_of(email, exclude_pk=self.user.pk) is not None:
            raise ValidationError(
                "Cette adresse ressemble à s’y méprendre à celle d’un autre compte Mes ADS : "
                "choisissez-en une autre ou contactez l’équipe nationale.",
                code="look_alike",
            )
        return email

    def save(self) -> User:
        self.user.email = self.cleaned_data["email"]
        self.user.save(update_fields=["email"])
        return self.user


class ProConnectLinkForm(ReauthenticationMixin, FieldsetForm):
    """The existing account's password, typed once to link it to a ProConnect identity
    (mesads.users.proconnect.accounts)."""

    current_password = forms.CharField(
        label="Mot de passe de votre compte Mes ADS",
        help_text="Celui que vous utilisez pour vous connecter avec votre adresse électronique.",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    def __init__(self, request: HttpRequest, user: User, *args, **kwargs):
        self.request = request
        self.user = user
        super().__init__(*args, **kwargs)


class NotificationPreferencesForm(FieldsetForm, forms.ModelForm):
    class Meta:
        model = User
        fields = [
            "notify_access_requests",
            "notify_access_decisions",
            "notify_sent_back",
            "notify_changes",
        ]
        labels = {
            "notify_access_requests": "Une demande d’accès attend ma décision",
            "notify_access_decisions": "Ma demande d’accès a été acceptée, refusée ou révoquée",
            "notify_sent_back": "La préfecture me renvoie une ADS à corriger",
            "notify_changes": "Une ADS de mon département est modifiée",
        }
        help_texts = {
            "notify_access_requests": "Pour les agents de préfecture.",
            "notify_changes": "Pour les agents de préfecture.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # A preference is neither required nor "optional": no marker.
            field.template_name = "users/profile_checkbox.html"
