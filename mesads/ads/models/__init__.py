"""The ADS register: issuing authorities, licences, their drivers and legal documents.

Rules from the transport code (articles L3121-1 to L3121-5, as amended by the law of
1 October 2014, "loi Thévenoud") live here, twice when they can: as a named database
constraint, and in ``clean()`` so that forms show a French message on the right field.

One module per subject; every name is imported from here (``mesads.ads.models``):
``rules`` (dates and conditions), ``ads``, ``driver``, ``documents``, ``history`` and
``counts`` (each authority's ADS). ``Authority`` is the authorities app's
(``mesads.authorities``).
"""

from .ads import ADS, ADSQuerySet
from .counts import declaration_state, live_ads_count
from .documents import ADSDocument, AuthorityDecree, UploadedFile, ads_document_path, decree_path
from .driver import Driver
from .history import RegisterChange
from .rules import (
    ATTESTATION_VALIDITY,
    NEW_REGIME_START,
    RENEWAL_YEARS,
    add_years,
    attestation_due_q,
    certified_q,
    natural_sort_key,
    number_search_expression,
    number_search_key,
    renewal_limit,
    renewal_overdue_q,
    to_recertify_q,
    validity_start,
)

__all__ = [
    "ADS",
    "ATTESTATION_VALIDITY",
    "NEW_REGIME_START",
    "RENEWAL_YEARS",
    "ADSDocument",
    "ADSQuerySet",
    "AuthorityDecree",
    "Driver",
    "RegisterChange",
    "UploadedFile",
    "add_years",
    "ads_document_path",
    "attestation_due_q",
    "certified_q",
    "declaration_state",
    "decree_path",
    "live_ads_count",
    "natural_sort_key",
    "number_search_expression",
    "number_search_key",
    "renewal_limit",
    "renewal_overdue_q",
    "to_recertify_q",
    "validity_start",
]
