import unicodedata

from axes.utils import reset as reset_login_failures
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils import timezone

from .forms import EmailChangeForm, NotificationPreferencesForm, PasswordChangeForm, SetPasswordForm
from .models import User
from .notifications import send_after_commit
from .preferences import preferences_forms


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
    return lockout_key(username) if username else None


def lockout_key(email: str) -> str:
    """The normalised address (NFKC + casefold, as the login's lookup), further folded to
    plain ASCII letters: look-alikes such as "gestıonnaire@…" (dotless ı), which the lookup
    refuses, share the real address's quota instead of getting a fresh one."""
    normalised = User.objects.normalize_email(email).replace("ı", "i")
    decomposed = unicodedata.normalize("NFKD", normalised)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


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


@login_required
def profile(request):
    """The user's identity and the e-mails they agree to receive."""
    data = request.POST if request.method == "POST" else None
    form = NotificationPreferencesForm(data, instance=request.user)
    # The features' own e-mails (reminders…), registered by their apps.
    sections = preferences_forms(request.user, data)
    every_form = [form, *(section_form for _, section_form in sections)]
    # Every form validated (a list, not a generator: each shows its own errors).
    if request.method == "POST" and all([each.is_valid() for each in every_form]):
        for each in every_form:
            each.save()
        messages.success(request, "Vos préférences de notification sont enregistrées.")
        return redirect("profile")
    return render(request, "users/profile.html", {"form": form, "sections": sections})


@login_required
def password_change(request):
    """Change the password, after re-entering the current one.

    The session that made the change stays open; every other session of the user ends
    at its next request, because Django checks a hash of the password stored in each
    session (update_session_auth_hash refreshes it in this one only).
    """
    form = PasswordChangeForm(request, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        _security_notice(
            user.email,
            "Votre mot de passe a été modifié",
            "registration/password_changed_email.txt",
            request,
        )
        messages.success(
            request,
            "Votre mot de passe a été modifié. Vos éventuelles autres sessions "
            "ouvertes (autre navigateur, autre poste) ont été fermées.",
        )
        return redirect("profile")
    return render(request, "users/profile_password.html", {"form": form})


@login_required
def email_change(request):
    """Change the address used to log in and to receive e-mails, after re-entering the
    password. The former address is told, so that a stolen session cannot quietly take
    the account over."""
    form = EmailChangeForm(request, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        former_email = request.user.email
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:
            # Taken by another account between the check and the save.
            request.user.email = former_email
            form.add_error(
                "email", "Un autre compte Mes ADS utilise déjà cette adresse électronique."
            )
        else:
            _security_notice(
                former_email,
                "Votre adresse électronique a été modifiée",
                "registration/email_changed_email.txt",
                request,
                {"new_email": user.email},
            )
            messages.success(request, f"Votre adresse électronique est désormais {user.email}.")
            return redirect("profile")
    return render(request, "users/profile_email.html", {"form": form})


def _security_notice(
    recipient: str, subject: str, template: str, request: HttpRequest, extra: dict | None = None
) -> None:
    """Tell the account's owner about a change to their credentials.

    Not a notification one may switch off: it is the only way the owner learns that
    someone else used their session. Sent once the change is committed, through the task
    queue; a failure is logged and does not undo the change.
    """
    body = render_to_string(
        template,
        {
            "user": request.user,
            "date": timezone.localtime(),
            **(extra or {}),
        },
    )

    send_after_commit(recipient, f"[Mes ADS] {subject}", body)
