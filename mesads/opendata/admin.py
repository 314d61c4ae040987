from django.contrib import admin

from .models import Publication


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):
    """What is published, read-only: the files are written by ``export_opendata``."""

    list_display = ("dataset", "generated_at", "rows", "size")
    readonly_fields = ("dataset", "name", "previous_name", "rows", "size", "sha256", "generated_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
