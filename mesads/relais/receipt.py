"""The receipt (récépissé) of a relay vehicle's registration, as PDF (fpdf2), kept on
board and shown at a roadside check."""

import datetime

from fpdf import FPDF

from .models import Vehicle


def _latin1(text: str) -> str:
    """The PDF's built-in Helvetica covers Latin-1 (French letters, « »), not the
    typographic apostrophe nor other scripts: those are replaced, never an error."""
    text = str(text).replace("\u2019", "'").replace("\u202f", " ").replace("\u2013", "-")
    return text.encode("latin-1", "replace").decode("latin-1")


def receipt_pdf(vehicle: Vehicle, today: datetime.date) -> bytes:
    owner = vehicle.owner
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Récépissé d'inscription du taxi relais n° {vehicle.number}"))
    pdf.set_author("Mes ADS")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, _latin1("Registre des taxis relais\nRécépissé d'inscription"), align="C")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 28)
    pdf.cell(
        0, 16, _latin1(f"TAXI RELAIS n° {vehicle.number}"), align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 11)
    rows = [
        ("Département", str(vehicle.departement)),
        ("Immatriculation", vehicle.plate),
        ("Marque et modèle", f"{vehicle.make} {vehicle.model}"),
        ("Motorisation", vehicle.get_engine_display()),
        ("Première immatriculation", vehicle.first_registration_date.strftime("%d/%m/%Y")),
        ("Places passagers", str(vehicle.seats)),
        ("Accessible en fauteuil roulant", "Oui" if vehicle.wheelchair_accessible else "Non"),
        ("Commune où il est garé", f"{vehicle.commune.name} ({vehicle.commune.insee_code})"),
        ("Inscrit le", vehicle.created_at.strftime("%d/%m/%Y")),
        ("Propriétaire", owner.name),
        ("SIRET", owner.siret),
        ("Adresse", owner.address),
        ("Contact", f"{owner.phone} - {owner.email}"),
    ]
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(70, 8, _latin1(label))
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 8, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(
        0,
        5,
        _latin1(
            "Ce véhicule est inscrit au registre des taxis relais (arrêté du 28 juillet 2023, "
            "article R. 3121-2 du code des transports). Il ne peut remplacer qu'un taxi "
            "immobilisé par une panne, un accident ou un vol, avec les équipements, les "
            "réglages tarifaires et la plaque ADS du taxi remplacé, et porte deux "
            f"signalétiques « TAXI RELAIS » avec le numéro {vehicle.number}. "
            f"Document édité le {today:%d/%m/%Y} : le registre public fait foi."
        ),
    )
    return bytes(pdf.output())
