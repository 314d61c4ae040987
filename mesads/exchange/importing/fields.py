"""What an import reads and writes: the columns of the format it takes in, the fields of
the models it sets, and those it leaves to the models."""

from mesads.ads.models import ADS, Driver

from ..columns import (
    ADS_COLUMNS,
    AUTHORITY_COLUMNS,
    DRIVER_COLUMNS,
    Column,
)

BATCH_SIZE = 2000
PROGRESS_EVERY = 1000
# Driver columns of the template (the file may have more blocks, or fewer).
TEMPLATE_DRIVER_BLOCKS = 3

IMPORTED_AUTHORITY_COLUMNS = [c for c in AUTHORITY_COLUMNS if c.imported]
IMPORTED_ADS_COLUMNS = [c for c in ADS_COLUMNS if c.imported]
IMPORTED_DRIVER_COLUMNS = [c for c in DRIVER_COLUMNS if c.imported]
DRIVER_NAME = next(c for c in IMPORTED_DRIVER_COLUMNS if c.field == "name")


def _model_field_name(column: Column) -> str:
    """``commune.insee_code`` → ``commune``: the model field a column sets."""
    return column.field.split(".", 1)[0]


# The fields an import sets: those of the web forms (tests check they match).
ADS_FIELDS = [_model_field_name(c) for c in IMPORTED_ADS_COLUMNS]
DRIVER_FIELDS = [c.field for c in IMPORTED_DRIVER_COLUMNS]
ADS_ATTNAMES = [ADS._meta.get_field(name).attname for name in ADS_FIELDS]
# As a ModelForm does, validate only the fields the user fills in.
ADS_EXCLUDE = {f.name for f in ADS._meta.fields} - set(ADS_FIELDS)
DRIVER_EXCLUDE = {f.name for f in Driver._meta.fields} - set(DRIVER_FIELDS)
DRIVER_ATTNAMES = [Driver._meta.get_field(name).attname for name in DRIVER_FIELDS]
ADS_DB_FIELDS = [f.attname for f in ADS._meta.concrete_fields]
DRIVER_DB_FIELDS = [f.attname for f in Driver._meta.concrete_fields]
# Written when an import changes an ADS, beside the fields of the file.
ADS_DERIVED = ["number_sort_key", "plate_search", "drivers_search", "is_complete"]
ADS_BOOKKEEPING = ["version", "updated_at", "substantive_change_at"]
