"""Decrees prepared from the register: a Word document (.docx) filled in from the record,
that the authority reviews, numbers, signs, then files with the ADS as a PDF.

The templates are Word documents whose fields are Jinja tags (docxtpl): the project ships
one per kind (``docx/<kind>.docx``, made by ``scripts/make_decree_templates.py``); national
staff may replace each in the admin (``DecreeTemplate``). Templates are rendered in
Jinja's sandbox with every value escaped for XML (a holder named « Taxi & Fils » must not
break the document), and an unknown field is an error, not a blank: an uploaded template
is refused unless it renders with the fields below.

What the generated text says of the law is limited to what the register's rules rest on
(DOMAIN.md): the articles L. 3121-1 to L. 3121-5 of the transport code and the law
n° 2014-1104 of 1 October 2014. By regime: a new-regime ADS cites L. 3121-2 (not
transferable, five years renewable) and L. 3121-1-2 (operated by its holder), and its
attribution L. 3121-5 (the public waiting list); an old-regime ADS cites L. 3121-2 (the
holder may present a successor for a price), and a transfer L. 3121-4 (the register of
transactions), and L. 3121-3 with its case when it was made without the holding period
(definitive unfitness, court-ordered recovery or liquidation, death).
"""

import datetime
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import slugify
from docx.opc.exceptions import PackageNotFoundError
from docxtpl import DocxTemplate
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from mesads.ads.models import ADS, AuthorityDecree
from mesads.authorities.models import Authority
from mesads.core.text import de

from .models import DecreeTemplate, Transfer

Kind = DecreeTemplate.Kind
SHIPPED = Path(__file__).resolve().parent / "docx"
DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# An uploaded template: a Word document is a zip; these bound what reading it may cost.
MAX_TEMPLATE_SIZE = 5 * 1024 * 1024
MAX_UNCOMPRESSED = 50 * 1024 * 1024

MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
).split()
BLANK = "……"

LAW_2014 = (
    "Vu la loi n° 2014-1104 du 1er octobre 2014 relative aux taxis et aux voitures de "
    "transport avec chauffeur ;"
)
CODE_VISA = "Vu le code des transports, notamment ses articles L. 3121-1 à L. 3121-5 ;"
CGCT_VISA = "Vu le code général des collectivités territoriales ;"


def long_date(day: datetime.date | None) -> str:
    """« 1er mars 2005 », « 12 juin 2012 », as a decree writes dates; blanks when unknown."""
    if day is None:
        return BLANK
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS[day.month - 1]} {day.year}"


def siret_text(siret: str) -> str:
    """« 732 829 320 00074 »: SIREN then establishment number, as they are read."""
    if len(siret) != 14:
        return siret or BLANK
    return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"


def signatory(authority: Authority) -> tuple[str, str]:
    """Who signs, in the decree's heading (« Le Maire de Nîmes ») and under it (« Le Maire »)."""
    if authority.type == Authority.Type.COMMUNE:
        return f"Le Maire {de(authority.commune.name)}", "Le Maire"
    if authority.type == Authority.Type.EPCI:
        return f"Le Président {de(authority.name)}", "Le Président"
    if authority.prefecture_id and authority.prefecture.code == "75":
        return "Le Préfet de police", "Le Préfet de police"
    return "Le Préfet", "Le Préfet"


def place(authority: Authority) -> str:
    if authority.type == Authority.Type.COMMUNE:
        return authority.commune.name
    return BLANK


def _authority_context(authority: Authority) -> dict[str, Any]:
    heading, short = signatory(authority)
    departement = authority.departement
    latest = AuthorityDecree.objects.filter(authority=authority).order_by("-date", "-pk").first()
    return {
        "autorite": authority.name,
        "autorite_majuscules": authority.name.upper(),
        # « de Nîmes », « d’Alès »: the name after « de », elided as French writes it.
        "autorite_de": de(authority.name),
        "signataire": heading,
        "signataire_court": short,
        "lieu": place(authority),
        "departement": departement.name if departement else BLANK,
        "date_du_jour": long_date(timezone.localdate()),
        "arrete_nombre_date": long_date(latest.date) if latest else BLANK,
        "arrete_nombre_ads": str(latest.ads_count) if latest else BLANK,
        "arrete_precedent": latest is not None,
        "visa_arrete_nombre": (
            f"Vu l’arrêté du {long_date(latest.date)} fixant à {latest.ads_count} le nombre "
            "d’autorisations de stationnement de taxi ;"
            if latest
            else ""
        ),
    }


def regime_paragraph(ads: ADS) -> str:
    """What the ADS is, by its regime: only facts the register's rules rest on."""
    if ads.is_new_regime:
        # L. 3121-2: an ADS issued after the law of 1 October 2014 cannot be transferred
        # and is valid five years, renewable; L. 3121-1-2: its holder operates it.
        return (
            "Cette autorisation, créée après l’entrée en vigueur de la loi n° 2014-1104 du "
            "1er octobre 2014, est personnelle et incessible. Elle est délivrée "
            "gratuitement, pour une durée de cinq ans renouvelable, en application de "
            "l’article L. 3121-2 du code des transports, et exploitée personnellement par "
            "son titulaire, conformément à l’article L. 3121-1-2 du même code."
        )
    return (
        "Cette autorisation, délivrée avant le 1er octobre 2014, n’est pas limitée dans le "
        "temps. Son titulaire a la faculté de présenter à titre onéreux un successeur dans "
        "les conditions prévues à l’article L. 3121-2 du code des transports."
    )


def ads_context(ads: ADS, transfer: Transfer | None = None) -> dict[str, Any]:
    """Every field a decree about ``ads`` may use (the same for each kind)."""
    validity_start = ads.last_renewal_date or ads.creation_date
    visas = [CGCT_VISA, CODE_VISA, LAW_2014]
    context = _authority_context(ads.authority)
    if context["visa_arrete_nombre"]:
        visas.append(context["visa_arrete_nombre"])
    context.update(
        {
            "ads_numero": ads.number,
            "ads_date_creation": long_date(ads.creation_date),
            "nouveau_regime": bool(ads.is_new_regime),
            "regime": "nouvelle ADS" if ads.is_new_regime else "ancienne ADS",
            "regime_paragraphe": regime_paragraph(ads),
            "articles": (
                "articles L. 3121-1 à L. 3121-5 du code des transports, notamment ses "
                "articles L. 3121-1-2 et L. 3121-2"
                if ads.is_new_regime
                else "articles L. 3121-1 à L. 3121-5 du code des transports, notamment ses "
                "articles L. 3121-2 et L. 3121-4"
            ),
            "commune_stationnement": ads.commune.name if ads.commune_id else place(ads.authority),
            "titulaire_nom": ads.holder_name or BLANK,
            "titulaire_siret": siret_text(ads.holder_siret),
            "date_attribution": long_date(ads.attribution_date or ads.creation_date),
            "date_renouvellement": long_date(ads.last_renewal_date),
            "validite_debut": long_date(validity_start if ads.is_new_regime else None),
            "validite_fin": long_date(ads.renewal_due_date),
            "vehicule_immatriculation": ads.vehicle_plate or BLANK,
            "cedant_nom": transfer.seller_name if transfer else BLANK,
            "cedant_siret": siret_text(transfer.seller_siret) if transfer else BLANK,
            "cessionnaire_nom": transfer.buyer_name if transfer else BLANK,
            "cessionnaire_siret": siret_text(transfer.buyer_siret) if transfer else BLANK,
            "date_cession": long_date(transfer.date if transfer else None),
            "cession_exception": transfer.exception_phrase if transfer else "",
            "cession_fondement": transfer_grounds(transfer),
            "visas": visas,
        }
    )
    if transfer is not None:
        context["visas"] = [*visas, presentation_visa(transfer), REGISTER_VISA]
    return context


REGISTER_VISA = (
    "Vu le registre des transactions tenu en application de l’article L. 3121-4 du code "
    "des transports ;"
)


def presentation_visa(transfer: Transfer) -> str:
    if not transfer.exception:
        return (
            "Vu la présentation d’un successeur par le titulaire de l’autorisation, en "
            "application de l’article L. 3121-2 du code des transports ;"
        )
    by = (
        "les ayants droit du titulaire de l’autorisation"
        if transfer.exception == Transfer.HoldingException.DEATH
        else "le titulaire de l’autorisation"
    )
    # L. 3121-3 lifts the holding period of L. 3121-2 in these cases: the decree says which.
    return (
        f"Vu la présentation d’un successeur par {by}, sans condition de durée "
        "d’exploitation, en application de l’article L. 3121-3 du code des transports, au "
        f"titre de l’exception : {transfer.exception_phrase} ;"
    )


def transfer_grounds(transfer: Transfer | None) -> str:
    """The articles the transfer rests on, as the decree's first article says them."""
    if transfer is not None and transfer.exception:
        return (
            "des articles L. 3121-2 et L. 3121-3 du code des transports, sans condition de "
            f"durée d’exploitation ({transfer.exception_phrase})"
        )
    return "de l’article L. 3121-2 du code des transports"


def count_context(authority: Authority, count: int) -> dict[str, Any]:
    context = _authority_context(authority)
    visas = [CGCT_VISA, CODE_VISA, LAW_2014]
    if context["visa_arrete_nombre"]:
        visas.append(context["visa_arrete_nombre"])
    live = ADS.objects.live().filter(authority=authority).count()
    context.update(
        {
            "nombre_ads": str(count),
            "nombre_ads_registre": str(live),
            "registre_inscrites": (
                f"{live} autorisations de stationnement sont inscrites"
                if live > 1
                else f"{live} autorisation de stationnement est inscrite"
            ),
            "visas": visas,
        }
    )
    return context


# --- the kinds of decree ------------------------------------------------------------------


@dataclass(frozen=True)
class DecreeKind:
    kind: str
    title: str  # « portant attribution de l’autorisation de stationnement »
    # Why this decree does not apply to this ADS (in French), or None.
    refusal: Callable[[ADS], str | None]


def _only_new(ads: ADS) -> str | None:
    if not ads.is_new_regime:
        return (
            "Seule une ADS créée à partir du 1er octobre 2014 se renouvelle : celle-ci "
            "n’est pas limitée dans le temps."
            if ads.creation_date
            else "La date de création de l’ADS n’est pas renseignée : complétez-la d’abord."
        )
    return None


def _only_old(ads: ADS) -> str | None:
    if ads.is_new_regime is None:
        return "La date de création de l’ADS n’est pas renseignée : complétez-la d’abord."
    if ads.is_new_regime:
        return (
            "Une ADS créée à partir du 1er octobre 2014 est incessible : il n’y a pas "
            "d’arrêté de cession."
        )
    return None


ADS_KINDS = {
    Kind.ATTRIBUTION: DecreeKind(
        Kind.ATTRIBUTION,
        "portant attribution d’une autorisation de stationnement de taxi",
        lambda ads: None,
    ),
    Kind.RENEWAL: DecreeKind(
        Kind.RENEWAL,
        "portant renouvellement d’une autorisation de stationnement de taxi",
        _only_new,
    ),
    Kind.TRANSFER: DecreeKind(
        Kind.TRANSFER,
        "portant transfert d’une autorisation de stationnement de taxi à un successeur",
        _only_old,
    ),
    Kind.WITHDRAWAL: DecreeKind(
        Kind.WITHDRAWAL,
        "portant retrait d’une autorisation de stationnement de taxi",
        lambda ads: None,
    ),
}


# --- rendering ----------------------------------------------------------------------------


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, keeping what it compiled: docxtpl compiles the XML of each part of
    the document at every render (seven parts, about 60 ms a decree); a template's parts
    are the same from one decree to the next."""

    MAX_KEPT = 64

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=True)
        self._compiled: dict[str, Any] = {}

    def from_string(self, source, globals=None, template_class=None):
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        template = self._compiled.get(source)
        if template is None:
            if len(self._compiled) >= self.MAX_KEPT:
                self._compiled.clear()
            template = self._compiled[source] = super().from_string(source)
        return template


_SANDBOX = _Sandbox()


def _environment() -> SandboxedEnvironment:
    return _SANDBOX


def shipped_template(kind: str) -> Path:
    return SHIPPED / f"{kind}.docx"


def template_source(kind: str) -> IO[bytes]:
    """The uploaded template of this kind, or else the shipped one."""
    uploaded = DecreeTemplate.objects.filter(kind=kind).first()
    if uploaded is not None:
        with uploaded.file.open("rb") as stored:
            return io.BytesIO(stored.read())
    return io.BytesIO(shipped_template(kind).read_bytes())


def render(source: IO[bytes], context: dict[str, Any]) -> bytes:
    document = DocxTemplate(source)
    document.render(context, jinja_env=_environment(), autoescape=True)
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def render_ads_decree(ads: ADS, kind: str, transfer: Transfer | None = None) -> bytes:
    return render(template_source(kind), ads_context(ads, transfer))


def render_count_decree(authority: Authority, count: int) -> bytes:
    return render(template_source(Kind.COUNT), count_context(authority, count))


def filename(kind: str, subject: str) -> str:
    """« arrete-attribution-ads-a-7.docx »: nothing of the record but its number."""
    return f"arrete-{kind}-{slugify(subject) or 'ads'}.docx"


# --- checking an uploaded template ----------------------------------------------------------


def sample_context(kind: str) -> dict[str, Any]:
    """Made-up values for every field: what an uploaded template is tried with."""
    if kind == Kind.COUNT:
        fields = {
            **_sample_authority(),
            "nombre_ads": "12",
            "nombre_ads_registre": "11",
            "registre_inscrites": "11 autorisations de stationnement sont inscrites",
        }
    else:
        fields = {**_sample_authority(), **_sample_ads()}
    fields["visas"] = [CGCT_VISA, CODE_VISA, LAW_2014]
    return fields


def _sample_authority() -> dict[str, Any]:
    return {
        "autorite": "Nîmes",
        "autorite_majuscules": "NÎMES",
        "autorite_de": "de Nîmes",
        "signataire": "Le Maire de Nîmes",
        "signataire_court": "Le Maire",
        "lieu": "Nîmes",
        "departement": "Gard",
        "date_du_jour": long_date(timezone.localdate()),
        "arrete_nombre_date": "1er janvier 2020",
        "arrete_nombre_ads": "12",
        "arrete_precedent": True,
        "visa_arrete_nombre": "Vu l’arrêté du 1er janvier 2020 fixant à 12 le nombre "
        "d’autorisations de stationnement de taxi ;",
    }


def _sample_ads() -> dict[str, Any]:
    return {
        "ads_numero": "12",
        "ads_date_creation": "1er mars 2005",
        "nouveau_regime": False,
        "regime": "ancienne ADS",
        "regime_paragraphe": "…",
        "articles": "articles L. 3121-1 à L. 3121-5 du code des transports",
        "commune_stationnement": "Nîmes",
        "titulaire_nom": "Taxi & Fils <SARL>",
        "titulaire_siret": "732 829 320 00074",
        "date_attribution": "1er juin 2012",
        "date_renouvellement": BLANK,
        "validite_debut": BLANK,
        "validite_fin": BLANK,
        "vehicule_immatriculation": "AB-123-CD",
        "cedant_nom": "Jean Martin",
        "cedant_siret": "732 829 320 00074",
        "cessionnaire_nom": "Taxi Arènes",
        "cessionnaire_siret": "552 100 554 00025",
        "date_cession": "3 décembre 2026",
        "cession_exception": "",
        "cession_fondement": "de l’article L. 3121-2 du code des transports",
    }


def validate_template(upload: IO[bytes], kind: str) -> None:
    """Refuse, with a French message, a file that is not a Word document rendering with
    this kind's fields."""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_TEMPLATE_SIZE:
        raise ValidationError("Ce modèle dépasse 5 Mo : un modèle d’arrêté est bien plus léger.")
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ValidationError(
            "Ce fichier n’est pas un document Word (.docx) : enregistrez le modèle au format "
            "« Document Word (.docx) » puis déposez-le à nouveau."
        ) from None
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise ValidationError(
            "Ce fichier n’est pas un document Word (.docx) : enregistrez le modèle au format "
            "« Document Word (.docx) » puis déposez-le à nouveau."
        )
    if unpacked > MAX_UNCOMPRESSED:
        raise ValidationError("Ce modèle est trop volumineux une fois décompressé.")
    try:
        render(io.BytesIO(data), sample_context(kind))
    except TemplateError as error:
        raise ValidationError(
            f"Ce modèle ne peut pas être rempli : {error}. Vérifiez l’orthographe des champs "
            "entre doubles accolades et les balises {% … %}, comme dans le modèle fourni."
        ) from None
    except (KeyError, ValueError, SyntaxError, PackageNotFoundError):
        # A zip that python-docx cannot read as a document (a part missing or not XML).
        raise ValidationError(
            "Ce document Word ne peut pas être lu : enregistrez-le à nouveau au format "
            "« Document Word (.docx) » puis déposez-le."
        ) from None
