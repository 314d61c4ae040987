from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.debug import sensitive_post_parameters

from mesads.users.middleware import client_ip
from mesads.users.models import User

from ..forms import ConfirmForm, SignupForm
from ..signup import confirmation_token, limit_reached, sign_up


@sensitive_post_parameters("password1", "password2")
def signup(request):
    if request.user.is_authenticated:
        return redirect("relais:space")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if limit_reached(email, client_ip(request)):
            form.add_error(
                None,
                "Trop de demandes d’inscription pour cette adresse ou depuis votre connexion : "
                "réessayez dans une heure.",
            )
            return render(request, "relais/signup.html", {"form": form}, status=429)
        sign_up(request, email, form.cleaned_data["password1"])
        return redirect("relais:signup_sent")
    return render(request, "relais/signup.html", {"form": form})


def signup_sent(request):
    return render(request, "relais/signup_sent.html")


@sensitive_post_parameters("password")
def signup_confirm(request, uidb64: str, token: str):
    """The link proves the mailbox; the password chosen at sign-up, asked again here,
    proves the person who chose it: someone who signed up with another's address (and so
    chose the password) cannot have the account activated by its owner's click."""
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or user.is_active or not confirmation_token.check_token(user, token):
        return render(request, "relais/signup_invalid.html", status=400)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if user.check_password(form.cleaned_data["password"]):
            user.is_active = True
            user.save(update_fields=["is_active"])
            login(request, user, backend="mesads.users.backends.ModelBackend")
            messages.success(
                request, "Votre adresse est confirmée : déclarez maintenant votre entreprise."
            )
            return redirect("relais:space")
        form.add_error(
            "password",
            "Ce n’est pas le mot de passe choisi à l’inscription. Si vous ne l’avez pas "
            "choisi vous-même, inscrivez-vous de nouveau : un nouveau lien vous sera envoyé.",
        )
    return render(request, "relais/signup_confirm.html", {"form": form, "email": user.email})
