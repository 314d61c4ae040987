"""Legal documents: checking an uploaded file, storing it, and versioning the ADS with it.

A decree is a public act but its copy often carries personal data (the holder's name and
address): files are stored through Django's storage under random names and only ever
served by the views, after the access check, never from a public URL.
"""

import math
import re
import unicodedata
import uuid
from dataclasses import dataclass

import filetype
import reversion
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction

from mesads.core.storage import (
    FileNotStored,
    delete_stored_file,
    deleting_file_on_error,
    store_file,
)

from .models import ADS, ADSDocument, AuthorityDecree
from .services import record_revision


@dataclass(frozen=True)
class DocumentType:
    label: str
    content_type: str
    extensions: tuple[str, ...]  # the first one names the stored file


# Decrees are scanned or exported from word processors: PDF, or a photo of the paper.
ACCEPTED_TYPES = {
    "application/pdf": DocumentType("PDF", "application/pdf", ("pdf",)),
    "image/jpeg": DocumentType("image JPEG", "image/jpeg", ("jpg", "jpeg")),
    "image/png": DocumentType("image PNG", "image/png", ("png",)),
}
ACCEPT_ATTRIBUTE = ",".join(
    [f".{ext}" for kind in ACCEPTED_TYPES.values() for ext in kind.extensions]
    + list(ACCEPTED_TYPES)
)
# filetype reads at most this many bytes to recognise a file.
SIGNATURE_BYTES = 8192
MEGABYTE = 1024 * 1024

# Control characters could forge HTTP headers; Windows forbids the others in file names.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_CHARACTERS = re.compile(r'[<>:"/\\|?*]')


def format_size(size: int) -> str:
    """A size as a French reader writes it: ``10 Mo``, ``2,5 Mo``, ``50 Ko``."""
    if size < MEGABYTE // 10:
        return f"{math.ceil(size / 1024)} Ko"
    return f"{size / MEGABYTE:.1f}".removesuffix(".0").replace(".", ",") + " Mo"


def max_size_text() -> str:
    return format_size(settings.MAX_DOCUMENT_SIZE)


def extension_of(name: str) -> str:
    """``"Arrêté.PDF"`` → ``"pdf"``; ``""`` when the name has no dot."""
    _, dot, extension = name.rpartition(".")
    return extension.lower() if dot else ""


def validate_document(upload: UploadedFile) -> DocumentType:
    """Check an uploaded decree by its content, not by what its name claims.

    Returns the detected type; raises ValidationError with a French message otherwise.
    """
    if not upload.size:
        raise ValidationError("Le fichier est vide : choisissez un autre fichier.", code="empty")
    if upload.size > settings.MAX_DOCUMENT_SIZE:
        raise ValidationError(
            f"Ce fichier dépasse la taille maximale autorisée de {max_size_text()}. "
            "Réduisez-le (par exemple en le numérisant en noir et blanc) "
            "ou déposez-le en plusieurs parties.",
            code="too_large",
        )
    upload.seek(0)
    head = upload.read(SIGNATURE_BYTES)
    upload.seek(0)
    detected = filetype.guess(head)
    document_type = ACCEPTED_TYPES.get(detected.mime) if detected else None
    if document_type is None:
        raise ValidationError(
            "Ce fichier n’est pas un document PDF, ni une image JPEG ou PNG : seuls ces "
            "formats sont acceptés.",
            code="unsupported_type",
        )
    extension = extension_of(upload.name or "")
    if extension not in document_type.extensions:
        claimed = f"« .{extension} »" if extension else "aucune extension"
        raise ValidationError(
            f"Le nom du fichier porte {claimed} mais son contenu est un {document_type.label} : "
            f"renommez-le en « .{document_type.extensions[0]} » ou choisissez le bon fichier.",
            code="extension_mismatch",
        )
    return document_type


def clean_original_name(name: str, document_type: DocumentType) -> str:
    """The name shown in lists and proposed on download, safe to put in a header."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rpartition("/")[2])
    extension = extension_of(name)
    if extension in document_type.extensions:
        name = name[: -len(extension) - 1]
    else:
        extension = document_type.extensions[0]
    stem = _UNSAFE_CHARACTERS.sub("_", _CONTROL_CHARACTERS.sub(" ", name))
    stem = " ".join(stem.split()).strip(" .") or "document"
    max_length = ADSDocument._meta.get_field("original_name").max_length
    return f"{stem[: max_length - len(extension) - 1]}.{extension}"


def content_type_of(name: str) -> str:
    """The content type to serve a stored document with (its extension was checked)."""
    extension = extension_of(name)
    for document_type in ACCEPTED_TYPES.values():
        if extension in document_type.extensions:
            return document_type.content_type
    return "application/octet-stream"


def _store(instance: models.Model, upload: UploadedFile) -> None:
    """Save the file under a random name and fill the fields that describe it."""
    document_type = validate_document(upload)
    instance.original_name = clean_original_name(upload.name or "", document_type)
    # A random name: nothing personal in paths, and no collision between two "arrete.pdf".
    name = f"{uuid.uuid4().hex}.{document_type.extensions[0]}"
    try:
        store_file(instance.file, name, upload)
    except FileNotStored:
        # A full or read-only storage (OPERATIONS.md #16), an object store that refuses
        # the file or does not answer: nothing was kept, the user is told.
        raise DocumentNotStored(
            "Le document n’a pas pu être enregistré : l’espace de stockage est "
            "momentanément indisponible. Rien n’a été enregistré ; réessayez plus tard ou "
            "prévenez l’équipe Mes ADS si le problème continue."
        ) from None


class DocumentNotStored(Exception):
    """The storage refused the file; the message says so, in French."""


def add_ads_document(document: ADSDocument, upload: UploadedFile, user) -> ADSDocument:
    """Attach a decree to an ADS, as a revision of the ADS (its history shows the addition).

    ``document`` is unsaved, with its ADS and kind set (as ``ADSDocumentForm`` builds it).
    """
    document.size = upload.size
    document.uploaded_by = user
    _store(document, upload)
    with deleting_file_on_error(document.file), transaction.atomic(), reversion.create_revision():
        # The same lock and version as any change of the ADS: an edit opened before this
        # addition is told of it instead of saving over it, and the snapshot is the ADS as
        # it is now, not as this request first read it (which showed in the history as an
        # edit undone). The ADS follows its documents: its snapshot lists this one.
        document.ads = ADS.objects.locked(document.ads_id)
        document.save()
        record_revision(document.ads, user, f"Ajout du document « {document} »")
    return document


def delete_ads_document(document: ADSDocument, user) -> None:
    """Remove a decree from an ADS; the ADS history keeps a trace of it, not the file."""
    storage, name = document.file.storage, document.file.name
    with transaction.atomic(), reversion.create_revision():
        ads = ADS.objects.locked(document.ads_id)  # as for an addition
        description = str(document)
        document.delete()
        record_revision(ads, user, f"Suppression du document « {description} »")
        # Only once the row is gone for good: a rollback must not leave it without its file.
        transaction.on_commit(lambda: delete_stored_file(storage, name))


def add_authority_decree(decree: AuthorityDecree, upload: UploadedFile, user) -> AuthorityDecree:
    """Store the decree fixing the number of ADS; ``decree`` is unsaved, with its authority,
    date and count set (as ``AuthorityDecreeForm`` builds and validates it)."""
    decree.uploaded_by = user
    _store(decree, upload)
    with deleting_file_on_error(decree.file), transaction.atomic():
        decree.save()
    return decree
