from django.contrib import admin
from reversion.admin import VersionAdmin

from .models import Application, Reminder


@admin.register(Application)
class ApplicationAdmin(VersionAdmin):
    list_display = ["number", "authority", "registered_at", "state", "valid_until"]
    list_filter = ["state", "proves_driving_experience"]
    search_fields = ["number", "applicant_name", "card_number_key", "authority__name"]
    list_select_related = ["authority"]
    raw_id_fields = ["authority", "ads"]
    readonly_fields = ["state", "valid_until", "ads", "removed_at"]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["application", "kind", "valid_until", "sent_at", "applicant_told"]
    list_filter = ["kind"]
    list_select_related = ["application"]
    raw_id_fields = ["application"]

    def has_add_permission(self, request) -> bool:
        return False
