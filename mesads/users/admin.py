from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery

from mesads.core.http import site_url as absolute_site_url

from . import access_requests
from .models import (
    AuthorityAccess,
    FailedEmail,
    InspectorGrant,
    LoginEvent,
    PrefectureMembership,
    ProConnectLink,
    User,
)
from .proconnect.accounts import notify_link


class LookalikeEmailMixin:
    """Refuse an address that looks like another account's (same confusables skeleton):
    "equıpe-nationale@…" (dotless ı) beside "equipe-nationale@…"."""

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if self.instance.pk and email == self.initial.get("email"):
            return email  # unchanged: an account opened before can still be deactivated
        if not User.objects.is_canonical_email(self.cleaned_data["email"]):
            raise ValidationError(
                "Cette adresse contient des caractères qui imitent des lettres ordinaires : "
                "saisissez-la en lettres simples.",
                code="look_alike",
            )
        lookalike = User.objects.lookalike_of(email, exclude_pk=self.instance.pk)
        if lookalike is not None:
            raise ValidationError(
                f"Cette adresse ressemble à s’y méprendre à celle du compte {lookalike.email}.",
                code="look_alike",
            )
        return email


class UserCreationForm(LookalikeEmailMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserEditForm(LookalikeEmailMixin, UserChangeForm):
    class Meta:
        model = User
        fields = ["email", "first_name", "last_name"]


class LookalikeFilter(admin.SimpleListFilter):
    """Accounts whose address looks like another account's: those opened before look-alike
    addresses were refused."""

    title = "adresse semblable à un autre compte"
    parameter_name = "semblable"

    def lookups(self, request, model_admin):
        return [("oui", "Oui")]

    def queryset(self, request, queryset):
        if self.value() != "oui":
            return queryset
        same = (
            User.objects.filter(email_skeleton=OuterRef("email_skeleton"))
            .values("email_skeleton")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return queryset.annotate(same_skeleton=Subquery(same)).filter(same_skeleton__gt=1)


class ProConnectLinkInline(admin.TabularInline):
    model = ProConnectLink
    fk_name = "user"
    extra = 0
    can_delete = False
    fields = ["created_at", "outcome", "sub", "claimed_email", "siret", "ip_address", "by"]
    readonly_fields = fields
    verbose_name_plural = "associations ProConnect (et tentatives refusées)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", LookalikeFilter]
    search_fields = ["email", "first_name", "last_name"]
    inlines = [ProConnectLinkInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Identité",
            {
                "fields": ["first_name", "last_name", "proconnect_sub"],
                "description": "Vider l’identifiant ProConnect délie le compte (par "
                "exemple après un changement de fournisseur d’identité). Saisir un "
                "identifiant l’associe : faites-le seulement après avoir vérifié avec la "
                "personne (les comptes à droits étendus ne s’associent pas autrement) ; "
                "elle en est avertie par courriel.",
            },
        ),
        (
            "Droits",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]}),
    ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "proconnect_sub" in form.changed_data and obj.proconnect_sub:
            ProConnectLink.objects.create(
                outcome=ProConnectLink.Outcome.BY_STAFF,
                user=obj,
                sub=obj.proconnect_sub,
                claimed_email="",
                ip_address=None,
                by=request.user,
            )
            notify_link(obj, None, by_staff=True)


@admin.register(ProConnectLink)
class ProConnectLinkAdmin(admin.ModelAdmin):
    list_display = ["created_at", "outcome", "user", "claimed_email", "sub", "siret", "by"]
    list_filter = ["outcome"]
    search_fields = ["user__email", "claimed_email", "sub", "siret"]
    list_select_related = ["user", "by"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuthorityAccess)
class AuthorityAccessAdmin(admin.ModelAdmin):
    list_display = ["user", "authority", "status", "via_prefecture", "created_at", "decided_at"]
    list_filter = ["status", "via_prefecture"]
    search_fields = ["user__email", "authority__name"]
    list_select_related = ["user", "authority"]
    raw_id_fields = ["user", "authority", "decided_by"]
    fields = [
        "user",
        "authority",
        "status",
        "via_prefecture",
        "message",
        "decision_comment",
        "decided_at",
        "decided_by",
    ]


@admin.register(PrefectureMembership)
class PrefectureMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "departement", "status", "created_at", "decided_at"]
    list_filter = ["status", "departement"]
    search_fields = ["user__email"]
    list_select_related = ["user", "departement"]
    raw_id_fields = ["user", "decided_by"]
    actions = ["accept", "refuse", "revoke"]

    @admin.action(description="Accepter les demandes sélectionnées (en attente)")
    def accept(self, request, queryset):
        self._decide(request, queryset, accept=True)

    @admin.action(description="Refuser les demandes sélectionnées (en attente)")
    def refuse(self, request, queryset):
        self._decide(request, queryset, accept=False)

    @admin.action(description="Retirer les agents sélectionnés (et les registres gérés à ce titre)")
    def revoke(self, request, queryset):
        site_url = absolute_site_url(request)
        revoked, closed, skipped = 0, 0, 0
        for membership in queryset.select_related("user", "departement"):
            try:
                closed += access_requests.revoke_membership(
                    membership, request.user, site_url=site_url
                )
            except access_requests.AccessError:
                skipped += 1
            else:
                revoked += 1
        self.message_user(
            request,
            f"{revoked} agent(s) retiré(s) ; {closed} registre(s) géré(s) à ce titre fermé(s).",
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                f"{skipped} ligne(s) ignorée(s) : ce n’étaient pas des agents acceptés.",
                messages.WARNING,
            )

    def _decide(self, request, queryset, *, accept: bool) -> None:
        # The same service as the staff page: recorded decision, e-mail to the person.
        site_url = absolute_site_url(request)
        decided, skipped = 0, 0
        for membership in queryset.select_related("user", "departement"):
            try:
                access_requests.decide_membership(
                    membership, request.user, accept=accept, site_url=site_url
                )
            except access_requests.AccessError:
                skipped += 1
            else:
                decided += 1
        verdict = "acceptée(s)" if accept else "refusée(s)"
        self.message_user(request, f"{decided} demande(s) {verdict}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} demande(s) ignorée(s) : elles n’étaient pas en attente.",
                messages.WARNING,
            )


@admin.register(InspectorGrant)
class InspectorGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "departement", "granted_at", "granted_by"]
    list_filter = ["departement"]
    search_fields = ["user__email"]
    list_select_related = ["user", "departement", "granted_by"]
    raw_id_fields = ["user", "granted_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "method", "email", "user", "ip_address"]
    list_filter = ["kind", "method"]
    search_fields = ["email", "ip_address"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FailedEmail)
class FailedEmailAdmin(admin.ModelAdmin):
    """E-mails given up after every attempt: who should be told another way."""

    list_display = ["failed_at", "kind", "recipient", "subject", "attempts", "last_error"]
    list_filter = ["kind"]
    search_fields = ["recipient", "subject"]
    date_hierarchy = "failed_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
