"""Every error of the API as one JSON object in French: ``{"erreur": code, "message": …}``
(and ``"details"``, field by field, for invalid parameters)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response


class TooManyFailures(exceptions.Throttled):
    """429: this client failed too many key authentications (``mesads.api.keys``)."""


# The first kind an exception is an instance of gives its code: subclasses first.
MESSAGES = {
    exceptions.NotFound: (
        "introuvable",
        "Aucun objet à cette adresse, ou hors du périmètre de la clé.",
    ),
    TooManyFailures: (
        "trop_de_tentatives",
        "Trop de tentatives avec une clé d’API inconnue depuis votre adresse : "
        "réessayez dans {wait} s.",
    ),
    exceptions.Throttled: (
        "trop_d_appels",
        "Trop d’appels avec cette clé : réessayez dans {wait} s.",
    ),
    exceptions.MethodNotAllowed: ("methode_non_autorisee", "Cette API est en lecture seule (GET)."),
    exceptions.NotAcceptable: ("format_non_disponible", "Cette API ne répond qu’en JSON."),
}


class ErrorSerializer(serializers.Serializer):
    """The body of every error (documented in the schema)."""

    erreur = serializers.CharField(help_text="Code de l’erreur, stable.")
    message = serializers.CharField(help_text="Explication en français.")
    details = serializers.DictField(
        required=False, help_text="Pour des paramètres invalides : les erreurs de chacun."
    )


def exception_handler(exc, context):
    """DRF's handler, less its ``set_rollback()``: the API's views are read-only and run
    outside the request's transaction (``KeyedView``), and a rollback flag set on an
    enclosing transaction (a test's) would break every later query in it."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    response = Response(status=exc.status_code, headers=headers)
    body: dict = {}
    for kind, (code, message) in MESSAGES.items():
        if isinstance(exc, kind):
            wait = getattr(exc, "wait", None)
            body = {"erreur": code, "message": message.format(wait=int(wait or 0) + 1)}
            break
    if not body:
        if isinstance(exc, exceptions.ValidationError):
            body = {
                "erreur": "parametres_invalides",
                "message": "Paramètres invalides : voir « details ».",
                "details": exc.detail if isinstance(exc.detail, dict) else {"": exc.detail},
            }
        else:
            codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "erreur"
            body = {
                "erreur": codes if isinstance(codes, str) else "erreur",
                "message": str(getattr(exc, "detail", exc)),
            }
    response.data = body
    return response
