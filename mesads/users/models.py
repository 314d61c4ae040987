import unicodedata

from disarm import skeleton_key
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def email_skeleton(email: str | None) -> str:
    """What an address looks like: its Unicode TR 39 confusables skeleton (disarm), with
    the digits folded as TR 39 does (1 ≡ l, 0 ≡ o). Two addresses with one skeleton are
    look-alikes: "equıpe-nationale@…" (dotless ı) or "еquipe@…" (Cyrillic е) and
    "equipe-nationale@…", which the canonical form (NFKC + casefold) keeps apart.

    disarm leaves out one row of TR 39, m → rn, because it corrupts prose; an address is
    an identifier, where "rnairie@…" must meet "mairie@…", so it is applied here.

    Stored (User.email_skeleton): a change here, or a new version of disarm that folds
    differently, needs a data migration recomputing every account's, as users.0004 does."""
    skeleton = skeleton_key(UserManager.normalize_email(email), digit_policy="tr39")
    return skeleton.replace("m", "rn")


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        """The one form of an address we store, look up and count lockouts against:
        NFKC then casefold, so that "ſ" (long s) or a fullwidth "ａ" count as the letter
        they look like."""
        return unicodedata.normalize("NFKC", (email or "").strip()).casefold()

    @classmethod
    def is_canonical_email(cls, email: str | None) -> bool:
        """False for an address that changes under NFKC+casefold beyond plain case
        ("ı" dotless i, "ſ" long s, fullwidth letters): such look-alikes are refused at
        login and when an address is chosen, never matched to another account."""
        email = (email or "").strip()
        return cls.normalize_email(email) == email.lower()

    def lookalike_of(self, email: str | None, exclude_pk: int | None = None):
        """Another account whose address looks like this one without being it (same
        skeleton, another address), or None. Read on the indexed skeleton column."""
        email = self.normalize_email(email)
        found = self.filter(email_skeleton=email_skeleton(email)).exclude(email=email)
        if exclude_pk is not None:
            found = found.exclude(pk=exclude_pk)
        return found.order_by("pk").first()

    def get_by_natural_key(self, username: str):
        # An exact comparison on the normalised form: iexact would use PostgreSQL's
        # UPPER(), for which UPPER('ı') = 'I', and match "gestıonnaire@…" to
        # "gestionnaire@…".
        if not self.is_canonical_email(username):
            raise self.model.DoesNotExist
        return self.get(email=self.normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("L’adresse électronique est obligatoire.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person using Mes ADS, identified by their e-mail address."""

    email = models.EmailField("adresse électronique", max_length=254, unique=True)
    # email_skeleton(email), kept by save(): look-alike addresses are found on an index
    # instead of by computing every account's skeleton (UserManager.lookalike_of).
    email_skeleton = models.CharField(
        "squelette de l’adresse", max_length=1024, editable=False, db_index=True, default=""
    )
    first_name = models.CharField("prénom", max_length=150, blank=True)
    last_name = models.CharField("nom", max_length=150, blank=True)
    is_staff = models.BooleanField(
        "équipe nationale",
        default=False,
        help_text="Accès à l’administration et à tout le registre.",
    )
    is_active = models.BooleanField("actif", default=True)
    date_joined = models.DateTimeField("date d’inscription", default=timezone.now)
    # The subject ProConnect gives this person (stable for Mes ADS and their identity
    # provider), stored at their first ProConnect login: later logins are matched on it,
    # never on the e-mail address (mesads.users.proconnect.accounts).
    proconnect_sub = models.CharField(
        "identifiant ProConnect", max_length=255, unique=True, null=True, blank=True
    )

    # E-mail notifications, each of which the user may switch off in their profile.
    notify_access_requests = models.BooleanField(
        "demandes d’accès à traiter (agents de préfecture)", default=True
    )
    notify_access_decisions = models.BooleanField(
        "décisions sur mes demandes d’accès", default=True
    )
    notify_sent_back = models.BooleanField("ADS renvoyées par la préfecture", default=True)
    notify_changes = models.BooleanField(
        "modifications des ADS de mon département (agents de préfecture)", default=False
    )

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "utilisateur"
        verbose_name_plural = "utilisateurs"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = User.objects.normalize_email(self.email)
        # Checked when the address is chosen, not on every edit: national staff must still
        # be able to deactivate an account opened with a look-alike address before.
        stored = User.objects.filter(pk=self.pk).values_list("email", flat=True).first()
        lookalike = self.lookalike_account if self.email != stored else None
        if lookalike is not None:
            raise ValidationError(
                {
                    "email": f"Cette adresse ressemble à s’y méprendre à celle du compte "
                    f"{lookalike.email}."
                },
                code="look_alike",
            )

    @property
    def lookalike_account(self) -> "User | None":
        """Another account whose address looks like this one's (same TR 39 skeleton): to
        be flagged wherever someone decides on this account's rights."""
        return User.objects.lookalike_of(self.email, exclude_pk=self.pk) if self.email else None

    def save(self, *args, **kwargs) -> None:
        self.email_skeleton = email_skeleton(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "email_skeleton"}
        super().save(*args, **kwargs)

    @property
    def has_extended_rights(self) -> bool:
        """National staff, superusers, prefecture agents and inspectors: whoever holds
        such an account reads or decides beyond one authority's register. Such an account
        is never linked to a ProConnect identity by the person alone (README, « Se
        connecter avec ProConnect »)."""
        return (
            self.is_staff
            or self.is_superuser
            or self.prefecture_memberships.filter(status=Status.ACCEPTED).exists()
            or self.inspector_grants.exists()
        )

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email


class Status(models.TextChoices):
    PENDING = "pending", "En attente"
    ACCEPTED = "accepted", "Acceptée"
    REFUSED = "refused", "Refusée"
    REVOKED = "revoked", "Révoquée"


class Request(models.Model):
    """What a person asks for and someone decides: an access, a prefecture membership."""

    Status = Status

    status = models.CharField(
        "statut", max_length=20, choices=Status.choices, default=Status.PENDING
    )
    message = models.TextField("message du demandeur", blank=True)
    created_at = models.DateTimeField("demandé le", auto_now_add=True)
    decided_at = models.DateTimeField("décidé le", null=True, blank=True)
    decided_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="décidé par",
    )

    class Meta:
        abstract = True


class AuthorityAccess(Request):
    """A person's right to manage an authority's register, once accepted by the prefecture.

    A prefecture agent who acts as manager of an authority of its département gets one
    too, marked ``via_prefecture``: the choice is explicit and recorded.
    """

    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="authority_accesses",
        verbose_name="utilisateur",
    )
    authority = models.ForeignKey(
        "authorities.Authority",
        on_delete=models.CASCADE,
        related_name="accesses",
        verbose_name="gestionnaire",
    )
    via_prefecture = models.BooleanField(
        "agent de préfecture agissant comme gestionnaire", default=False
    )
    decision_comment = models.TextField("motif de la décision", blank=True)

    class Meta:
        verbose_name = "accès à un gestionnaire"
        verbose_name_plural = "accès aux gestionnaires"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "authority"], name="access_user_authority_unique"
            )
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="access_user_status_idx"),
            models.Index(fields=["authority", "status"], name="access_authority_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.authority} ({self.get_status_display()})"


class PrefectureMembership(Request):
    """Membership of a prefecture's staff, requested by the person, granted by national staff."""

    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="prefecture_memberships",
        verbose_name="utilisateur",
    )
    departement = models.ForeignKey(
        "geo.Departement", on_delete=models.PROTECT, related_name="+", verbose_name="département"
    )

    class Meta:
        verbose_name = "agent de préfecture"
        verbose_name_plural = "agents de préfecture"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "departement"], name="prefecture_membership_unique"
            )
        ]
        indexes = [models.Index(fields=["user", "status"], name="prefecture_user_status_idx")]

    def __str__(self) -> str:
        return f"{self.user} – préfecture {self.departement_id} ({self.get_status_display()})"


class InspectorGrant(models.Model):
    """Read-only access (police, CPAM…) to the ADS of a département, granted by national staff."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="inspector_grants", verbose_name="utilisateur"
    )
    departement = models.ForeignKey(
        "geo.Departement", on_delete=models.PROTECT, related_name="+", verbose_name="département"
    )
    granted_at = models.DateTimeField("accordé le", auto_now_add=True)
    granted_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="accordé par",
    )

    class Meta:
        verbose_name = "accès en lecture (contrôleur)"
        verbose_name_plural = "accès en lecture (contrôleurs)"
        constraints = [
            models.UniqueConstraint(fields=["user", "departement"], name="inspector_grant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} – lecture {self.departement_id}"


class LoginEvent(models.Model):
    """Audit of logins, logouts and failed logins, for national staff."""

    class Kind(models.TextChoices):
        LOGIN = "login", "Connexion"
        LOGOUT = "logout", "Déconnexion"
        FAILED = "failed", "Échec de connexion"

    class Method(models.TextChoices):
        PASSWORD = "password", "Mot de passe"
        PROCONNECT = "proconnect", "ProConnect"

    kind = models.CharField("événement", max_length=10, choices=Kind.choices)
    method = models.CharField(
        "mode de connexion", max_length=10, choices=Method.choices, default=Method.PASSWORD
    )
    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="utilisateur",
    )
    email = models.CharField("adresse saisie", max_length=254, blank=True)
    ip_address = models.GenericIPAddressField("adresse IP", null=True, blank=True)
    user_agent = models.CharField("navigateur", max_length=300, blank=True)
    created_at = models.DateTimeField("date", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "événement de connexion"
        verbose_name_plural = "journal des connexions"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.email} {self.created_at:%d/%m/%Y %H:%M}"


class ProConnectLink(models.Model):
    """Each time a ProConnect identity was linked to an existing account, or refused
    because it claimed an account it may not take: for national staff (admin)."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", "Associé (mot de passe du compte confirmé)"
        BY_STAFF = "staff", "Associé par l’équipe nationale"
        REFUSED_RIGHTS = "refused_rights", "Refusé : compte à droits étendus"
        REFUSED_LOOKALIKE = "refused_lookalike", "Refusé : adresse semblable à un compte"

    outcome = models.CharField("résultat", max_length=20, choices=Outcome.choices)
    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="proconnect_links",
        verbose_name="compte",
    )
    sub = models.CharField("identifiant ProConnect", max_length=255)
    claimed_email = models.CharField("adresse transmise par ProConnect", max_length=254)
    siret = models.CharField("SIRET transmis", max_length=14, blank=True)
    ip_address = models.GenericIPAddressField("adresse IP", null=True, blank=True)
    by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="par",
    )
    created_at = models.DateTimeField("date", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "association ProConnect"
        verbose_name_plural = "associations ProConnect"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} – {self.user} ({self.claimed_email})"


class FailedEmail(models.Model):
    """An e-mail that could not be delivered after every attempt (``EMAIL_MAX_ATTEMPTS``):
    shown to national staff in the admin, so that a lost password reset is seen and the
    person can be told. The body is not kept (a reset e-mail holds a secret link)."""

    class Kind(models.TextChoices):
        PASSWORD_RESET = "password_reset", "Réinitialisation du mot de passe"
        NOTIFICATION = "notification", "Notification"

    recipient = models.EmailField("destinataire")
    subject = models.CharField("objet", max_length=300)
    kind = models.CharField(
        "nature", max_length=20, choices=Kind.choices, default=Kind.NOTIFICATION
    )
    attempts = models.PositiveSmallIntegerField("tentatives")
    last_error = models.TextField("dernière erreur")
    failed_at = models.DateTimeField("abandonné le", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "courriel non remis"
        verbose_name_plural = "courriels non remis"
        ordering = ["-failed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.recipient} : {self.subject}"
