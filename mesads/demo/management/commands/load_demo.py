"""Demo data for `make run`: one account per role and a register showing every state.

Idempotent: accounts are reset to their demo password, ADS are generated only once.
"""

import datetime
from dataclasses import dataclass

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from mesads.ads.forms import ADSForm, DriverFormSet
from mesads.ads.models import ADS
from mesads.ads.services import save_ads
from mesads.authorities.models import Authority
from mesads.geo.models import Departement
from mesads.users.models import AuthorityAccess, InspectorGrant, PrefectureMembership, User

DEMO_PASSWORD = "demo-mesads-2026"  # noqa: S105 (documented demo credentials)
DEMO_COMMUNE = "30189"  # Nîmes
OTHER_COMMUNE = "30007"  # Alès, in the same département (Gard)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    first_name: str
    last_name: str
    role: str  # what the README and the command's output say of it
    is_staff: bool = False
    manages: str = ""  # INSEE code of the commune it manages
    requests: str = ""  # INSEE code of the commune it asked for (pending)
    agent_of: str = ""  # département code of the prefecture it belongs to
    inspects: str = ""  # département code it reads


DEMO_ACCOUNTS = [
    DemoAccount(
        "equipe-nationale@demo.mesads.fr",
        "Dominique",
        "National",
        "équipe nationale",
        is_staff=True,
    ),
    DemoAccount(
        "gestionnaire@demo.mesads.fr",
        "Camille",
        "Gestionnaire",
        "gestionnaire de Nîmes",
        manages=DEMO_COMMUNE,
    ),
    DemoAccount(
        "gestionnaire-ales@demo.mesads.fr",
        "Alix",
        "Gestionnaire",
        "gestionnaire d’Alès (Gard)",
        manages=OTHER_COMMUNE,
    ),
    DemoAccount(
        "prefecture-gard@demo.mesads.fr",
        "Claude",
        "Préfecture",
        "agent de la préfecture du Gard",
        agent_of="30",
    ),
    DemoAccount(
        "prefecture-herault@demo.mesads.fr",
        "Sacha",
        "Préfecture",
        "agent de la préfecture de l’Hérault",
        agent_of="34",
    ),
    DemoAccount(
        "controle-gard@demo.mesads.fr",
        "Morgan",
        "Contrôle",
        "contrôleur (lecture) du Gard",
        inspects="30",
    ),
    DemoAccount(
        "controle-herault@demo.mesads.fr",
        "Noa",
        "Contrôle",
        "contrôleur (lecture) de l’Hérault",
        inspects="34",
    ),
    DemoAccount(
        "demandeur@demo.mesads.fr",
        "Lou",
        "Demandeur",
        "demande en attente pour Nîmes",
        requests=DEMO_COMMUNE,
    ),
    DemoAccount(
        "nouveau@demo.mesads.fr",
        "Eden",
        "Nouveau",
        "sans accès : peut demander une commune",
    ),
]


def _form_data(values: dict, drivers: list[dict], existing: list[int] | None = None) -> dict:
    data = {k: v for k, v in values.items() if v not in (None, False)}
    data["attest"] = "on"  # the manager certifies the record, as the form requires
    existing = existing or []
    data.update(
        {
            "drivers-TOTAL_FORMS": str(len(drivers)),
            "drivers-INITIAL_FORMS": str(len(existing)),
            "drivers-MIN_NUM_FORMS": "0",
            "drivers-MAX_NUM_FORMS": "20",
        }
    )
    for index, driver in enumerate(drivers):
        for key, value in driver.items():
            data[f"drivers-{index}-{key}"] = value
        if index < len(existing):
            data[f"drivers-{index}-id"] = str(existing[index])
    return data


class Command(BaseCommand):
    help = "Create demo accounts and a small demo register (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--ads", type=int, default=1500, help="ADS generated nationally")

    def _save(self, authority, user, values, drivers, ads=None, comment=""):
        existing = list(ads.drivers.order_by("pk").values_list("pk", flat=True)) if ads else []
        data = _form_data(values, drivers, existing)
        if ads:
            data["version"] = str(ads.version)
        form = ADSForm(data, instance=ads or ADS(authority=authority), authority=authority)
        formset = DriverFormSet(data, instance=form.instance, prefix="drivers")
        if not (form.is_valid() and formset.is_valid()):
            raise CommandError(f"Demo ADS {values['number']}: {form.errors} {formset.errors}")
        return save_ads(form, formset, user, comment)

    @transaction.atomic
    def handle(self, *args, **options):
        try:
            nimes = Authority.objects.get(
                commune__insee_code=DEMO_COMMUNE, commune__type="commune-actuelle"
            )
        except Authority.DoesNotExist as error:
            raise CommandError(
                "Load the geography first: python manage.py load_geography"
            ) from error

        users = {account.email: self._account(account) for account in DEMO_ACCOUNTS}
        manager = users["gestionnaire@demo.mesads.fr"]

        if not ADS.objects.exists():
            call_command("generate_registry", ads=options["ads"], seed=2026, verbosity=0)
        if not ADS.objects.filter(authority=nimes, number__startswith="D-").exists():
            self._demo_register(nimes, manager)

        # The relay taxis' demo owner (mesads.relais: a feature app, called from the top).
        from mesads.relais.demo import DEMO_OWNER_EMAIL, load_demo_relais

        load_demo_relais(DEMO_PASSWORD)

        self.stdout.write(
            self.style.SUCCESS(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD})")
        )
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.email:40} {account.role}")
        self.stdout.write(f"  {DEMO_OWNER_EMAIL:40} propriétaire de taxis relais (Gard)")

    def _account(self, account: DemoAccount) -> User:
        user, _ = User.objects.get_or_create(email=account.email)
        user.first_name, user.last_name = account.first_name, account.last_name
        user.is_staff = user.is_superuser = account.is_staff
        user.set_password(DEMO_PASSWORD)
        user.save()
        now = timezone.now()
        for code, status in ((account.manages, "accepted"), (account.requests, "pending")):
            if code:
                authority = Authority.objects.get(
                    commune__insee_code=code, commune__type="commune-actuelle"
                )
                AuthorityAccess.objects.update_or_create(
                    user=user,
                    authority=authority,
                    defaults={
                        "status": status,
                        "decided_at": now if status == "accepted" else None,
                    },
                )
        if account.agent_of:
            PrefectureMembership.objects.update_or_create(
                user=user,
                departement=Departement.objects.get(code=account.agent_of),
                defaults={"status": PrefectureMembership.Status.ACCEPTED, "decided_at": now},
            )
        if account.inspects:
            InspectorGrant.objects.get_or_create(
                user=user, departement=Departement.objects.get(code=account.inspects)
            )
        return user

    def _demo_register(self, nimes, manager):
        today = timezone.localdate()
        years_ago = lambda n: (today - datetime.timedelta(days=365 * n + 30)).isoformat()  # noqa: E731
        holder = {
            "in_use": "on",
            "vehicle_pmr": "false",
            "vehicle_low_emission": "true",
            "cpam_agreement": "on",
        }
        # Complete, old regime, with an employee driver; then edited, to show history.
        ads = self._save(
            nimes,
            manager,
            {
                "number": "D-1",
                "creation_date": "2009-05-12",
                "attribution_date": "2016-01-04",
                "holder_name": "Taxis de la Maison Carrée SARL",
                "holder_siret": "73282932000074",
                "holder_phone": "04 66 00 00 01",
                "vehicle_plate": "FG-451-KL",
                **holder,
            },
            [{"status": "salarie", "name": "Louis Garnier", "card_number": "CPT-30-2016-014"}],
            comment="Déclaration initiale",
        )
        self._save(
            nimes,
            manager,
            {
                "number": "D-1",
                "creation_date": "2009-05-12",
                "attribution_date": "2016-01-04",
                "holder_name": "Taxis de la Maison Carrée SARL",
                "holder_siret": "73282932000074",
                "holder_phone": "04 66 00 00 01",
                "vehicle_plate": "GH-982-MN",
                **holder,
            },
            [
                {"status": "salarie", "name": "Louis Garnier", "card_number": "CPT-30-2016-014"},
                {
                    "status": "locataire_gerant",
                    "name": "Inès Benali",
                    "siret": "55203253400646",
                    "card_number": "CPT-30-2021-101",
                    "lease_start_date": "2023-09-01",
                },
            ],
            ads=ads,
            comment="Nouveau véhicule et nouvelle locataire-gérante",
        )
        # New regime, complete.
        self._save(
            nimes,
            manager,
            {
                "number": "D-2",
                "creation_date": years_ago(2),
                "holder_name": "Sophie Roux",
                "holder_siret": "44306184100047",
                "vehicle_plate": "HJ-204-PQ",
                **holder,
            },
            [
                {
                    "status": "titulaire_exploitant",
                    "name": "Sophie Roux",
                    "card_number": "CPT-30-2022-007",
                }
            ],
        )
        # New regime, renewal overdue (created over five years ago, never renewed).
        self._save(
            nimes,
            manager,
            {
                "number": "D-3",
                "creation_date": years_ago(6),
                "holder_name": "Marc Lefèvre",
                "holder_siret": "80314744100007",
                "vehicle_plate": "EK-310-RS",
                **holder,
            },
            [
                {
                    "status": "titulaire_exploitant",
                    "name": "Marc Lefèvre",
                    "card_number": "CPT-30-2019-033",
                }
            ],
        )
        # Incomplete: no plate, driver without a card number.
        self._save(
            nimes,
            manager,
            {
                "number": "D-4",
                "creation_date": "2001-02-20",
                "attribution_date": "2001-02-20",
                "holder_name": "Taxi Jean-Jaurès",
                "in_use": "on",
            },
            [{"status": "titulaire_exploitant", "name": "Paul Meyer"}],
        )
        # Vacant, new regime.
        self._save(nimes, manager, {"number": "D-5", "creation_date": years_ago(1)}, [])
