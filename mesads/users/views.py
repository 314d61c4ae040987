from axes.utils import reset as reset_login_failures
from django.contrib.auth import views as auth_views
from django.http import HttpRequest
from django.urls import reverse_lazy

from .forms import SetPasswordForm
from .models import User


def lockout_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The e-mail address django-axes counts login failures against (AXES_USERNAME_CALLABLE).

    Addresses are matched case-insensitively at login, so they must be counted the same
    way: otherwise "Marie@…" and "MARIE@…" would each get a fresh quota of guesses, on
    our login page as on the admin's.
    """
    if credentials is not None:
        username = credentials.get("username")
    else:
        username = request.POST.get("username")
    return User.objects.normalize_email(username) if username else None


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Set a new password from the e-mailed link, and lift the login lockout.

    Following the link proves the person controls the account's mailbox: making them
    wait out the brute-force cool-off afterwards would only lock out the legitimate owner.
    """

    form_class = SetPasswordForm
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        reset_login_failures(username=lockout_username(self.request, {"username": form.user.email}))
        return response
