from django.contrib import admin
from django.db import transaction
from django.urls import reverse

from .forms import DecreeTemplateAdminForm
from .models import DecreeTemplate, Transfer


@admin.register(DecreeTemplate)
class DecreeTemplateAdmin(admin.ModelAdmin):
    """National staff replace a shipped decree template by uploading theirs; deleting it
    brings the shipped one back. The upload is refused unless it renders."""

    form = DecreeTemplateAdminForm
    change_form_template = "admin/lifecycle/decreetemplate/change_form.html"
    fields = ["kind", "file", "uploaded_at", "uploaded_by"]

    def render_change_form(self, request, context, *args, **kwargs):
        # The shipped templates, to start from: their fields are the ones a decree has.
        context["shipped_templates"] = [
            (label, reverse("lifecycle:shipped_template", args=[kind]))
            for kind, label in DecreeTemplate.Kind.choices
        ]
        return super().render_change_form(request, context, *args, **kwargs)

    list_display = ["kind", "uploaded_at", "uploaded_by"]
    readonly_fields = ["uploaded_at", "uploaded_by"]

    def save_model(self, request, obj, form, change):
        replaced = (
            DecreeTemplate.objects.filter(pk=obj.pk).values_list("file", flat=True).first()
            if change
            else None
        )
        obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)
        if replaced and replaced != obj.file.name:
            # The template it replaces is of no further use; gone once the row is saved.
            storage = obj.file.storage
            transaction.on_commit(lambda: storage.delete(replaced))


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    """Read-only: transfers are recorded from the ADS page (with their revision)."""

    list_display = ["date", "authority", "ads", "seller_name", "buyer_name", "price", "exception"]
    list_filter = ["exception"]
    list_select_related = ["authority", "ads"]
    raw_id_fields = ["ads", "authority"]
    search_fields = ["ads__number", "seller_name", "buyer_name", "buyer_siret"]
    date_hierarchy = "date"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
