import unicodedata

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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
        "ads.Authority",
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
