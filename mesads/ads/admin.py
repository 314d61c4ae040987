from django.contrib import admin, messages
from django.db.models import QuerySet

from .models import ADS, ADSDocument, AuthorityDecree, Driver
from .services import RestoreError, restore_ads


class DriverInline(admin.TabularInline):
    model = Driver
    extra = 0
    fields = ["status", "name", "siret", "card_number", "lease_start_date"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ADS)
class ADSAdmin(admin.ModelAdmin):
    """Read-only: managers edit ADS in the application (validated, versioned, locked
    against concurrent edits); national staff restore deleted ones here."""

    list_display = ["number", "authority", "holder_name", "in_use", "is_complete", "deleted_at"]
    list_filter = ["in_use", "is_complete", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["number", "holder_name", "holder_siret", "plate_search"]
    list_select_related = ["authority"]
    raw_id_fields = ["authority", "commune"]
    inlines = [DriverInline]
    actions = ["restore_selected"]
    readonly_fields = [f.name for f in ADS._meta.concrete_fields if f.name not in {"id"}]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting is a soft delete done in the application, so that it stays reversible.
        return False

    @admin.action(description="Restaurer les ADS supprimées sélectionnées")
    def restore_selected(self, request, queryset: QuerySet[ADS]) -> None:
        restored = 0
        for ads in queryset.filter(deleted_at__isnull=False).select_related("authority"):
            try:
                restore_ads(ads, request.user)
                restored += 1
            except RestoreError as error:
                self.message_user(request, str(error), messages.ERROR)
        self.message_user(request, f"{restored} ADS restaurée(s).", messages.SUCCESS)


@admin.register(ADSDocument)
class ADSDocumentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "kind", "ads", "uploaded_at"]
    raw_id_fields = ["ads", "uploaded_by"]
    list_select_related = ["ads"]


@admin.register(AuthorityDecree)
class AuthorityDecreeAdmin(admin.ModelAdmin):
    list_display = ["authority", "date", "ads_count", "uploaded_at"]
    raw_id_fields = ["authority", "uploaded_by"]
    list_select_related = ["authority"]
