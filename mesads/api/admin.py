"""National staff create and revoke the re-users' keys here and see how much each is used."""

from django.contrib import admin, messages
from django.db.models import Q, Sum
from django.utils import timezone
from rest_framework_api_key.models import APIKey as LibraryAPIKey

from .keys import pending_calls
from .models import APIKey, APIKeyUsage

# The library's own key model is not ours: only mesads.api.models.APIKey is used.
if admin.site.is_registered(LibraryAPIKey):
    admin.site.unregister(LibraryAPIKey)


class UsageInline(admin.TabularInline):
    model = APIKeyUsage
    fields = ["day", "calls"]
    readonly_fields = ["day", "calls"]
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-day"]
    verbose_name_plural = "appels par jour (écrits au plus une minute après)"

    def get_queryset(self, request):
        since = timezone.localdate() - timezone.timedelta(days=31)
        return super().get_queryset(request).filter(day__gte=since)


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = [
        "organisation",
        "name",
        "prefix",
        "scope",
        "profile",
        "rate_limit",
        "calls_today",
        "last_used_at",
        "revoked",
    ]
    list_filter = ["profile", "scope", "revoked"]
    search_fields = ["organisation", "name", "prefix"]
    filter_horizontal = ["departements"]
    inlines = [UsageInline]
    fields = [
        "organisation",
        "name",
        "scope",
        "departements",
        "profile",
        "rate_limit",
        "expiry_date",
        "revoked",
        "prefix",
        "created",
        "last_used_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["prefix", "created", "last_used_at"]
        if obj is not None and obj.revoked:
            # A revoked key stays revoked (AbstractAPIKey refuses to un-revoke it).
            readonly += ["name", "revoked", "expiry_date"]
        return readonly

    def get_queryset(self, request):
        today = timezone.localdate()
        return (
            super()
            .get_queryset(request)
            .annotate(stored_today=Sum("usage__calls", filter=Q(usage__day=today)))
        )

    @admin.display(description="appels aujourd’hui")
    def calls_today(self, obj: APIKey) -> int:
        return (obj.stored_today or 0) + pending_calls(obj.pk, timezone.localdate())

    def save_model(self, request, obj: APIKey, form, change: bool) -> None:
        if not obj.pk:
            key = APIKey.objects.assign_key(obj)
            obj.save()
            messages.warning(
                request,
                f"La clé de « {obj.organisation} » est : {key} — copiez-la maintenant et "
                "transmettez-la par un canal sûr : elle ne sera plus jamais affichée.",
            )
        else:
            obj.save()
