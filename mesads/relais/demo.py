"""Demo relay taxis for ``load_demo``: an owner account with its company and a few relay
vehicles in the Gard, one of them replacing a demo ADS of Nîmes this week. Idempotent."""

import datetime

from django.db import transaction
from django.utils import timezone

from mesads.ads.models import ADS
from mesads.geo.models import Commune, Departement
from mesads.users.models import User

from . import services
from .models import Membership, Owner, Use, Vehicle

DEMO_OWNER_EMAIL = "taxis-relais@demo.mesads.fr"
VEHICLES = [
    ("30189", "GA-301-RL", "Toyota", "Corolla Touring", Vehicle.Engine.HYBRID, 4, False),
    ("30189", "GA-302-RL", "Volkswagen", "Caddy Maxi", Vehicle.Engine.THERMAL, 6, True),
    ("30007", "GA-303-RL", "Tesla", "Model Y", Vehicle.Engine.ELECTRIC, 4, False),
]


@transaction.atomic
def load_demo_relais(password: str) -> User:
    user, _ = User.objects.get_or_create(email=DEMO_OWNER_EMAIL)
    user.first_name, user.last_name = "Sacha", "Loueur"
    user.set_password(password)
    user.save()
    owner = Owner.objects.filter(memberships__user=user).first()
    if owner is None:
        owner = services.create_owner(
            Owner(
                name="Gard Taxis Relais (démo)",
                siret="73282932000074",
                address="5 avenue Feuchères, 30000 Nîmes",
                phone="0466000000",
                email="contact@gard-taxis-relais.example",
            ),
            user,
        )
    Membership.objects.get_or_create(owner=owner, user=user)
    gard = Departement.objects.get(code="30")
    for code, plate, make, model, engine, seats, wheelchair in VEHICLES:
        if Vehicle.objects.live().filter(plate=plate).exists():
            continue
        commune = Commune.objects.current().filter(insee_code=code).first()
        if commune is None:
            continue
        services.register_vehicle(
            Vehicle(
                owner=owner,
                departement=gard,
                commune=commune,
                plate=plate,
                make=make,
                model=model,
                engine=engine,
                first_registration_date=datetime.date(2023, 4, 1),
                seats=seats,
                wheelchair_accessible=wheelchair,
            ),
            user,
        )
    vehicle = Vehicle.objects.filter(plate="GA-301-RL").first()
    ads = ADS.objects.live().filter(authority__commune__insee_code="30189").order_by("pk").first()
    today = timezone.localdate()
    if vehicle and ads and not vehicle.uses.filter(end__gte=today).exists():
        services.record_use(
            Use(
                vehicle=vehicle,
                ads=ads,
                start=today,
                end=today + datetime.timedelta(days=6),
                reason=Use.Reason.BREAKDOWN,
            ),
            user,
        )
    return user
