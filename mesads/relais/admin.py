from django.contrib import admin
from reversion.admin import VersionAdmin

from .models import Invitation, Membership, Owner, Requirements, Use, Vehicle


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Owner)
class OwnerAdmin(VersionAdmin):
    list_display = ["name", "siret", "phone", "email", "created_at"]
    search_fields = ["name", "siret", "email"]
    inlines = [MembershipInline]


@admin.register(Vehicle)
class VehicleAdmin(VersionAdmin):
    list_display = ["number", "plate", "departement", "owner", "status"]
    list_filter = ["status", "departement"]
    search_fields = ["number", "plate_search", "owner__name"]
    raw_id_fields = ["owner", "commune"]
    readonly_fields = ["number", "sequence"]


@admin.register(Use)
class UseAdmin(VersionAdmin):
    list_display = ["vehicle", "ads", "start", "end", "reason"]
    raw_id_fields = ["vehicle", "ads", "created_by"]


admin.site.register(Invitation)
admin.site.register(Requirements)
