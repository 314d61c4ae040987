from django.contrib import admin

from .models import Authority


@admin.register(Authority)
class AuthorityAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "departement", "declares_no_ads", "is_locked"]
    list_filter = ["type", "is_locked", "declares_no_ads", "departement"]
    search_fields = ["name", "commune__insee_code", "epci__siren"]
    list_select_related = ["departement"]
    raw_id_fields = ["commune", "epci", "prefecture", "airport", "delegated_to"]
    fields = [
        "type",
        "name",
        "departement",
        "commune",
        "epci",
        "prefecture",
        "airport",
        "declares_no_ads",
        "delegated_to",
        "is_locked",
        "lock_reason",
    ]
    readonly_fields = ["type", "commune", "epci", "prefecture", "airport"]

    def has_add_permission(self, request) -> bool:
        # Authorities are created from the official geography (load_geography).
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
