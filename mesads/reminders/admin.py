from django.contrib import admin

from .models import (
    Campaign,
    CampaignRecipient,
    PrefectureDigest,
    ReminderPreferences,
    RenewalNotice,
    Vacancy,
)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["subject", "target", "departement", "status", "created_at", "sent_at"]
    list_filter = ["status", "target"]
    list_select_related = ["departement"]
    readonly_fields = ["created_by", "created_at", "sent_at", "sent_by", "status"]


@admin.register(CampaignRecipient)
class CampaignRecipientAdmin(admin.ModelAdmin):
    list_display = ["email", "campaign", "authority", "status", "sent_at"]
    list_filter = ["status"]
    list_select_related = ["campaign", "authority"]
    search_fields = ["email"]
    raw_id_fields = ["campaign", "authority", "user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RenewalNotice)
class RenewalNoticeAdmin(admin.ModelAdmin):
    list_display = ["ads", "threshold", "due_date", "sent_on", "recipients_count"]
    list_filter = ["threshold"]
    list_select_related = ["ads"]
    raw_id_fields = ["ads"]

    def has_add_permission(self, request):
        return False


@admin.register(Vacancy)
class VacancyAdmin(admin.ModelAdmin):
    list_display = ["ads", "since"]
    list_select_related = ["ads"]
    raw_id_fields = ["ads"]


@admin.register(PrefectureDigest)
class PrefectureDigestAdmin(admin.ModelAdmin):
    list_display = ["user", "departement", "week", "sent_on"]
    list_select_related = ["user", "departement"]
    raw_id_fields = ["user"]

    def has_add_permission(self, request):
        return False


@admin.register(ReminderPreferences)
class ReminderPreferencesAdmin(admin.ModelAdmin):
    list_display = ["user", "reminders", "weekly_digest"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
