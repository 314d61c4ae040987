from django.contrib import admin

from .models import DailySnapshot


@admin.register(DailySnapshot)
class DailySnapshotAdmin(admin.ModelAdmin):
    list_display = ["date", "departement", "ads_total", "authorities_declared", "taken_at"]
    list_filter = ["date"]
    list_select_related = ["departement"]
    date_hierarchy = "date"

    # Written by the daily job only: what it computed is what it saw that day.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
