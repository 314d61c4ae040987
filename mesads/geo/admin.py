"""Browse the reference geography. Read-only: it is official data, changed only by
``manage.py load_geography`` from a new vintage, never by hand."""

from django.contrib import admin
from django.db.models import Count, Q
from django.http import HttpRequest

from .models import EPCI, Airport, Commune, Departement


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff may look, not add, edit or delete: a hand edit would be overwritten by the
    next load, or worse, diverge from the INSEE codes everything else relies on."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Departement)
class DepartementAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "region_code", "zone", "current_communes"]
    list_filter = ["zone"]
    search_fields = ["^code", "name"]

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(
                current_communes=Count(
                    "communes",
                    filter=Q(
                        communes__type=Commune.Type.ACTUELLE,
                        communes__is_active=True,
                    ),
                )
            )
        )

    @admin.display(description="communes actuelles", ordering="current_communes")
    def current_communes(self, obj: Departement) -> int:
        return obj.current_communes


@admin.register(Commune)
class CommuneAdmin(ReadOnlyAdmin):
    list_display = ["insee_code", "name", "type", "departement", "population", "is_active"]
    list_display_links = ["insee_code", "name"]
    list_filter = ["type", "is_active", "departement"]
    list_select_related = ["departement"]
    # A postal code matches inside the JSON list of the commune's codes.
    search_fields = ["^insee_code", "name", "postal_codes"]
    fields = [
        "insee_code",
        "type",
        "name",
        "departement",
        "siren",
        "population",
        "postal_codes",
        "parent_code",
        "former_codes",
        "epci_list",
        "is_active",
    ]

    @admin.display(description="EPCI")
    def epci_list(self, obj: Commune) -> str:
        return ", ".join(str(epci) for epci in obj.epcis.all()) or "–"


@admin.register(EPCI)
class EPCIAdmin(ReadOnlyAdmin):
    list_display = ["siren", "name", "type", "departement", "population", "n_members", "is_active"]
    list_display_links = ["siren", "name"]
    list_filter = ["type", "is_active", "departement"]
    list_select_related = ["departement"]
    search_fields = ["^siren", "name"]
    raw_id_fields = ["members"]
    fields = ["siren", "name", "type", "population", "departement", "members", "is_active"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(n_members=Count("members"))

    @admin.display(description="communes membres", ordering="n_members")
    def n_members(self, obj: EPCI) -> int:
        return obj.n_members


@admin.register(Airport)
class AirportAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "departement"]
    list_filter = ["departement"]
    list_select_related = ["departement"]
    search_fields = ["^code", "name"]
