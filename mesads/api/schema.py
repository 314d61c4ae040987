"""How the OpenAPI schema describes our key authentication (imported by ApiConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "mesads.api.keys.APIKeyAuthentication"
    name = "cleApi"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Api-Key",
            "description": "La clé de votre organisation (ou l’en-tête "
            "« Authorization: Api-Key <clé> »).",
        }
