"""Readable history of an ADS, built from django-reversion's stored versions.

Every revision that touches an ADS holds a snapshot of the ADS and, through ``follow``,
of its drivers and documents. The timeline compares consecutive snapshots. Only the
versions of the one ADS are read (an indexed lookup on content type and object id,
then the other versions of those revisions by revision id): never the whole table.
"""

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router
from django.db.models import Model
from django.utils import timezone
from reversion.models import Revision, Version
from reversion.revisions import _get_options

from mesads.geo.models import Commune

from .models import ADS, ADSDocument, Driver

HIDDEN_FIELDS = {
    "number_sort_key",
    "plate_search",
    "drivers_search",
    "is_complete",
    "version",
    "created_at",
    "updated_at",
    "authority",
    "ads",
    "file",
    "size",
    "uploaded_at",
    "uploaded_by",
    "substantive_change_at",
    # Attesting, certifying and sending back are revisions of their own, named by their
    # comment; attestation, renewed at every save, would otherwise clutter each entry.
    "attested_at",
    "certified_at",
    "sent_back_at",
    "sent_back_comment",
    "attested_by",
    "certified_by",
    "sent_back_by",
}


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class RelatedChange:
    kind: str  # "ajout", "suppression", "modification"
    description: str
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class HistoryEntry:
    date: datetime.datetime
    user: Any
    comment: str
    changes: list[FieldChange]
    drivers: list[RelatedChange]
    documents: list[RelatedChange]
    is_creation: bool


def _fields(version: Version) -> dict[str, Any]:
    return json.loads(version.serialized_data)[0]["fields"]


class _Formatter:
    """Turns raw serialized values into French text, resolving communes in one query."""

    def __init__(self, snapshots: list[dict[str, Any]]):
        commune_ids = {s.get("commune") for s in snapshots if s.get("commune")}
        self.communes = {c.pk: str(c) for c in Commune.objects.filter(pk__in=commune_ids)}

    def __call__(self, model: type[models.Model], name: str, value: Any) -> str:
        model_field = model._meta.get_field(name)
        if value is None or value == "":
            return "—"
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(model_field, models.BooleanField):
            return "Oui" if value else "Non"
        if isinstance(model_field, models.DateField) and not isinstance(
            model_field, models.DateTimeField
        ):
            return datetime.date.fromisoformat(value).strftime("%d/%m/%Y")
        if isinstance(model_field, models.DateTimeField):
            moment = datetime.datetime.fromisoformat(value)
            if timezone.is_aware(moment):  # stored in UTC: show the time of the entry's header
                moment = timezone.localtime(moment)
            return moment.strftime("%d/%m/%Y %H:%M")
        if name == "commune":
            return self.communes.get(value, f"commune n° {value}")
        return str(value)


def _diff(model, before: dict, after: dict, fmt: _Formatter) -> list[FieldChange]:
    changes = []
    for name, new in after.items():
        if name in HIDDEN_FIELDS:
            continue
        old = before.get(name)
        if old != new and not (old in (None, "") and new in (None, "")):
            label = str(model._meta.get_field(name).verbose_name)
            changes.append(
                FieldChange(
                    label[:1].upper() + label[1:], fmt(model, name, old), fmt(model, name, new)
                )
            )
    return changes


def _describe(model, data: dict, fmt: _Formatter) -> str:
    if model is Driver:
        return f"{data.get('name', '')} ({fmt(Driver, 'status', data.get('status'))})"
    return f"{fmt(ADSDocument, 'kind', data.get('kind'))} – {data.get('original_name', '')}"


def _related_changes(model, before: dict, after: dict, fmt: _Formatter) -> list[RelatedChange]:
    result = []
    for object_id, data in after.items():
        if object_id not in before:
            result.append(RelatedChange("ajout", _describe(model, data, fmt)))
        else:
            changes = _diff(model, before[object_id], data, fmt)
            if changes:
                result.append(RelatedChange("modification", _describe(model, data, fmt), changes))
    for object_id, data in before.items():
        if object_id not in after:
            result.append(RelatedChange("suppression", _describe(model, data, fmt)))
    return result


def ads_versions(ads: ADS):
    return (
        Version.objects.get_for_object(ads)
        .select_related("revision__user")
        .order_by("revision__date_created", "pk")
    )


def ads_timeline(ads: ADS) -> list[HistoryEntry]:
    """The ADS's history, newest first, with field-by-field changes in French."""
    versions = list(ads_versions(ads))
    if not versions:
        return []
    content_types = ContentType.objects.get_for_models(Driver, ADSDocument)
    driver_ct, document_ct = content_types[Driver].pk, content_types[ADSDocument].pk
    related: dict[int, dict[int, dict[str, dict]]] = {
        v.revision_id: {driver_ct: {}, document_ct: {}} for v in versions
    }
    for child in Version.objects.filter(
        revision_id__in=list(related), content_type_id__in=[driver_ct, document_ct]
    ).only("revision_id", "content_type_id", "object_id", "serialized_data"):
        data = _fields(child)
        # A driver belongs to this ADS only if the snapshot says so (a revision could hold
        # several ADS, e.g. a bulk import).
        if data.get("ads") == ads.pk:
            related[child.revision_id][child.content_type_id][child.object_id] = data

    snapshots = [_fields(v) for v in versions]
    fmt = _Formatter(snapshots)
    entries = []
    previous: dict = {}
    previous_related = {driver_ct: {}, document_ct: {}}
    for index, (version, snapshot) in enumerate(zip(versions, snapshots, strict=True)):
        current_related = related[version.revision_id]
        entries.append(
            HistoryEntry(
                date=version.revision.date_created,
                user=version.revision.user,
                comment=version.revision.comment,
                changes=[] if index == 0 else _diff(ADS, previous, snapshot, fmt),
                drivers=_related_changes(
                    Driver, previous_related[driver_ct], current_related[driver_ct], fmt
                ),
                documents=_related_changes(
                    ADSDocument, previous_related[document_ct], current_related[document_ct], fmt
                ),
                is_creation=index == 0,
            )
        )
        previous, previous_related = snapshot, current_related
    entries.reverse()
    return entries


@dataclass
class ChangesSince:
    """What others did to an ADS since someone opened it: the steps of the certification
    workflow taken meanwhile (in French), then the changes of its fields, drivers and
    documents."""

    steps: list[str]
    fields: list[FieldChange]
    drivers: list[RelatedChange]
    documents: list[RelatedChange]

    def __bool__(self) -> bool:
        return bool(self.steps or self.fields or self.drivers or self.documents)


# Attesting, certifying and sending back hide their fields from the field changes: each
# is said in a sentence, with who took the step and when.
WORKFLOW_STEPS = [
    ("certified_at", "certified_by", "certifiée par la préfecture"),
    ("sent_back_at", "sent_back_by", "renvoyée au gestionnaire par la préfecture"),
    ("attested_at", "attested_by", "attestée par son gestionnaire"),
]


def _snapshots(objects) -> dict[str, dict[str, Any]]:
    """The objects as django-reversion would store them now, by id as its versions name
    them: what a stored snapshot compares with."""
    objects = list(objects)
    if not objects:
        return {}
    options = _get_options(type(objects[0]))
    items = json.loads(serializers.serialize(options.format, objects, fields=options.fields))
    return {str(item["pk"]): item["fields"] for item in items}


def _workflow_steps(current: ADS, before: dict, now: dict) -> list[str]:
    steps = []
    for moment, by, what in WORKFLOW_STEPS:
        if now.get(moment) and now.get(moment) != before.get(moment):
            user = getattr(current, by)
            who = f" ({user.get_full_name()})" if user else ""
            when = timezone.localtime(getattr(current, moment)).strftime("%d/%m/%Y à %H:%M")
            step = f"L’ADS a été {what}{who} le {when}"
            if moment == "sent_back_at":
                step += f" : « {current.sent_back_comment} »"
            steps.append(step + ".")
    return steps


def changes_since(current: ADS, base_version: int) -> ChangesSince | None:
    """How ``current`` differs from the stored snapshot of its ``base_version`` (the ADS
    and, through ``follow``, its drivers and documents in the same revision).

    ``None`` when that version was never recorded (an ADS written without a revision,
    e.g. by an import): what changed is then unknown, not "nothing".
    """
    base, before = next(
        (
            (version, fields)
            for version in ads_versions(current).order_by("-revision__date_created", "-pk")
            if (fields := _fields(version)).get("version") == base_version
        ),
        (None, None),
    )
    if base is None:
        return None
    now = _snapshots([current])[str(current.pk)]
    content_types = ContentType.objects.get_for_models(Driver, ADSDocument)
    models_by_type = {content_type.pk: model for model, content_type in content_types.items()}
    related_before: dict[type[Model], dict[str, dict]] = {Driver: {}, ADSDocument: {}}
    for child in Version.objects.filter(
        revision_id=base.revision_id, content_type_id__in=list(models_by_type)
    ).only("content_type_id", "object_id", "serialized_data"):
        data = _fields(child)
        if data.get("ads") == current.pk:  # a revision may hold several ADS (an import)
            related_before[models_by_type[child.content_type_id]][child.object_id] = data
    drivers_now = _snapshots(current.drivers.all())
    documents_now = _snapshots(current.documents.all())
    fmt = _Formatter([before, now])
    return ChangesSince(
        steps=_workflow_steps(current, before, now),
        # Only the fields the snapshot knows: one added since by a migration is no change.
        fields=_diff(ADS, before, {name: now[name] for name in before if name in now}, fmt),
        drivers=_related_changes(Driver, related_before[Driver], drivers_now, fmt),
        documents=_related_changes(ADSDocument, related_before[ADSDocument], documents_now, fmt),
    )


def bulk_versions(revision: Revision, objects: list[Model]) -> list[Version]:
    """Version rows exactly as django-reversion serializes them (format, fields), for many
    objects of one model at once: the generator and the import write history in bulk."""
    if not objects:
        return []
    model = type(objects[0])
    options = _get_options(model)
    content_type = ContentType.objects.get_for_model(model)
    db = router.db_for_write(model)
    # The "json" serializer is the "python" one, dumped with this encoder.
    items = serializers.serialize("python", objects, fields=options.fields)
    return [
        Version(
            revision=revision,
            content_type=content_type,
            object_id=str(obj.pk),
            db=db,
            format=options.format,
            serialized_data="[" + json.dumps(item, cls=DjangoJSONEncoder, ensure_ascii=False) + "]",
            object_repr=str(obj),
        )
        for obj, item in zip(objects, items, strict=True)
    ]
