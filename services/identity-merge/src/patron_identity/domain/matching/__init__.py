"""Record matching for identity resolution: normalize, block, score (Fellegi-Sunter), cluster.

Pure domain code: no I/O. Callers prepare records once, feed them to a `Matcher` (streaming)
or `match_batch`, and store a tenant's fitted `MatchModel` via `to_dict`/`from_dict`.
"""

from __future__ import annotations

from patron_identity.domain.matching.blocking import blocking_keys
from patron_identity.domain.matching.matcher import (
    Matcher,
    PairDecision,
    Thresholds,
    match_batch,
)
from patron_identity.domain.matching.model import FieldEvidence, MatchModel, MatchScore
from patron_identity.domain.matching.normalize import (
    NormalizationRules,
    normalize_email,
    normalize_name,
    normalize_phone,
)
from patron_identity.domain.matching.records import (
    PersonRecord,
    PreparedName,
    PreparedRecord,
    prepare,
)

__all__ = [
    "FieldEvidence",
    "MatchModel",
    "MatchScore",
    "Matcher",
    "NormalizationRules",
    "PairDecision",
    "PersonRecord",
    "PreparedName",
    "PreparedRecord",
    "Thresholds",
    "blocking_keys",
    "match_batch",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "prepare",
]
