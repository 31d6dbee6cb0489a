"""Fellegi-Sunter match model: per-field m/u probabilities for each comparison level.

m = P(level | same person), u = P(level | different people). A field's weight is
log2(m/u); a pair's weight is the prior weight log2(p/(1-p)) plus the field weights, and
its match probability is 2^w / (1 + 2^w).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from patron_identity.domain.matching.blocking import candidate_pairs
from patron_identity.domain.matching.comparisons import (
    ADDRESS1,
    CITY,
    DATE_OF_BIRTH,
    DIFFERENT,
    EMAIL,
    EXACT,
    FIELDS,
    FIRST_NAME,
    LAST_NAME,
    LEVELS,
    MISSING,
    PHONE,
    POSTCODE,
    ComparisonVector,
    Level,
    name_levels,
    other_levels,
)
from patron_identity.domain.matching.records import PreparedRecord

PROBABILITY_FLOOR = 1e-6
PROBABILITY_CEILING = 1 - 1e-6
MODEL_FORMAT_VERSION = 2
_SWAPPED_SUFFIX = " (swapped)"


# Fields that describe where someone lives. They agree together (an address implies its
# postcode and city), so counting each would score one fact three times, and households and
# neighbours share them: the group counts once, its strongest agreement (or, when none
# agrees, its mildest disagreement).
LOCATION_FIELDS: tuple[str, ...] = (ADDRESS1, POSTCODE, CITY)
# Disagreements no typo explains: a different name (a household member shares the rest) or
# birth date. A pair showing one is never merged automatically, however strong the rest; a
# reviewer decides.
CONFLICTING_LEVELS: Mapping[str, str] = {
    FIRST_NAME: DIFFERENT,
    LAST_NAME: DIFFERENT,
    DATE_OF_BIRTH: DIFFERENT,
}


@dataclass(frozen=True)
class FieldEvidence:
    field: str
    level: str  # e.g. "exact", "nickname", "jaro_winkler>=0.92", "different", "missing"
    weight: float  # what it added to the pair's weight: log2(m/u), 0.0 when missing
    counted: bool = True  # False: another field of its group carried the group's weight


@dataclass(frozen=True)
class MatchScore:
    weight: float  # prior weight + sum of counted field weights, log2 scale
    probability: float
    evidence: tuple[FieldEvidence, ...]
    conflicts: tuple[str, ...] = ()  # fields whose disagreement rules out an automatic merge

    def agrees_exactly(self, field: str) -> bool:
        """Whether the two records hold the same value of `field`, once normalized."""
        return any(e.field == field and e.level == EXACT for e in self.evidence)


def _clamp(probability: float) -> float:
    return min(max(probability, PROBABILITY_FLOOR), PROBABILITY_CEILING)


def probability_from_weight(weight: float) -> float:
    # written both ways so that large |weight| neither overflows nor loses precision
    if weight >= 0:
        return 1.0 / (1.0 + math.exp2(-weight))
    odds = math.exp2(weight)
    return odds / (1.0 + odds)


def _with_remainder(field: str, agreeing: Mapping[str, float]) -> tuple[float, ...]:
    """Probabilities for the agreeing levels as given; "different" takes the rest."""
    values = [agreeing[level] for level in LEVELS[field][:-1]]
    return (*values, 1.0 - sum(values))


# Defaults for customer data without training. m: how often a true duplicate lands on the
# level (typos, nicknames, shared household inboxes, moved house); u: how often two different
# customers do by chance (common names, shared cities and postcodes).
_DEFAULT_M: Mapping[str, tuple[float, ...]] = {
    FIRST_NAME: _with_remainder(
        FIRST_NAME,
        {
            "exact": 0.80,
            "nickname": 0.05,
            "one_edit": 0.06,
            "jaro_winkler>=0.92": 0.02,
            "jaro_winkler>=0.80": 0.02,
            "phonetic": 0.01,
        },
    ),
    LAST_NAME: _with_remainder(
        LAST_NAME,
        {
            "exact": 0.85,
            "one_edit": 0.06,
            "jaro_winkler>=0.92": 0.02,
            "jaro_winkler>=0.80": 0.02,
            "phonetic": 0.01,
        },
    ),
    "email": _with_remainder("email", {"exact": 0.80, "same_local_part_or_one_edit": 0.05}),
    "phone": _with_remainder("phone", {"exact": 0.75, "same_last_7_digits": 0.05}),
    "date_of_birth": _with_remainder(
        "date_of_birth",
        {"exact": 0.90, "one_part_differs_or_day_month_swapped": 0.05, "same_year": 0.02},
    ),
    "postcode": _with_remainder("postcode", {"exact": 0.85, "same_first_3": 0.05}),
    "address1": _with_remainder(
        "address1", {"exact": 0.75, "token_set>=90": 0.08, "token_set>=70": 0.05}
    ),
    "city": _with_remainder("city", {"exact": 0.85, "jaro_winkler>=0.90": 0.05}),
}
_DEFAULT_U: Mapping[str, tuple[float, ...]] = {
    FIRST_NAME: _with_remainder(
        FIRST_NAME,
        {
            "exact": 0.012,
            "nickname": 0.002,
            "one_edit": 0.0025,
            "jaro_winkler>=0.92": 0.003,
            "jaro_winkler>=0.80": 0.01,
            "phonetic": 0.008,
        },
    ),
    LAST_NAME: _with_remainder(
        LAST_NAME,
        {
            "exact": 0.004,
            "one_edit": 0.001,
            "jaro_winkler>=0.92": 0.002,
            "jaro_winkler>=0.80": 0.008,
            "phonetic": 0.004,
        },
    ),
    "email": _with_remainder("email", {"exact": 1e-5, "same_local_part_or_one_edit": 1e-4}),
    "phone": _with_remainder("phone", {"exact": 1e-5, "same_last_7_digits": 1e-4}),
    "date_of_birth": _with_remainder(
        "date_of_birth",
        # ~60 years of birthdays: two strangers share one about once in 20,000 pairs
        {"exact": 1e-4, "one_part_differs_or_day_month_swapped": 3e-3, "same_year": 0.015},
    ),
    "postcode": _with_remainder("postcode", {"exact": 0.01, "same_first_3": 0.03}),
    "address1": _with_remainder(
        "address1", {"exact": 1e-4, "token_set>=90": 5e-4, "token_set>=70": 5e-3}
    ),
    "city": _with_remainder("city", {"exact": 0.02, "jaro_winkler>=0.90": 0.005}),
}
# share of blocked candidate pairs that are true duplicates
_DEFAULT_PRIOR = 1e-3

_LOCATION_INDEXES = tuple(FIELDS.index(field) for field in LOCATION_FIELDS)
_EMAIL_INDEX = FIELDS.index(EMAIL)
_PHONE_INDEX = FIELDS.index(PHONE)
_ADDRESS_INDEX = FIELDS.index(ADDRESS1)
_POSTCODE_INDEX = FIELDS.index(POSTCODE)
_NICKNAME_LEVEL = LEVELS[FIRST_NAME].index("nickname")
_DATE_OF_BIRTH_INDEX = FIELDS.index(DATE_OF_BIRTH)
# the weakest level at which a name vouches for the person against a wrong birth date: a
# family name may carry a typo; a given name a letter apart may be a relative's (juan, joan)
_NAME_AGREES: Mapping[str, int] = {
    FIRST_NAME: LEVELS[FIRST_NAME].index("nickname"),
    LAST_NAME: LEVELS[LAST_NAME].index("one_edit"),
}

_EM_MAX_ITERATIONS = 200
_EM_TOLERANCE = 1e-7
_EM_BLOCK_SIZE = 200


@dataclass(frozen=True)
class MatchModel:
    """Fellegi-Sunter model; `m` and `u` hold one tuple per field in FIELDS order."""

    prior: float
    m: tuple[tuple[float, ...], ...]
    u: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if not 0.0 < self.prior < 1.0:
            raise ValueError("prior must be strictly between 0 and 1")
        for name, table in (("m", self.m), ("u", self.u)):
            if len(table) != len(FIELDS):
                raise ValueError(f"{name} must have one entry per field")
            for field, probabilities in zip(FIELDS, table, strict=True):
                if len(probabilities) != len(LEVELS[field]):
                    raise ValueError(f"{name}[{field}] must have one entry per level")
                if any(not 0.0 < p < 1.0 for p in probabilities):
                    raise ValueError(f"{name}[{field}] must be strictly between 0 and 1")

    @classmethod
    def default(cls) -> MatchModel:
        return cls(
            prior=_DEFAULT_PRIOR,
            m=tuple(_DEFAULT_M[field] for field in FIELDS),
            u=tuple(_DEFAULT_U[field] for field in FIELDS),
        )

    @cached_property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1.0 - self.prior))

    @cached_property
    def weights(self) -> tuple[tuple[float, ...], ...]:
        return tuple(
            tuple(math.log2(m / u) for m, u in zip(ms, us, strict=True))
            for ms, us in zip(self.m, self.u, strict=True)
        )

    def m_probability(self, field: str, level: str) -> float:
        return self.m[FIELDS.index(field)][LEVELS[field].index(level)]

    def u_probability(self, field: str, level: str) -> float:
        return self.u[FIELDS.index(field)][LEVELS[field].index(level)]

    def _field_weights(self, vector: ComparisonVector) -> list[float | None]:
        """Each field's counted weight (None: missing or carried by its group)."""
        return [
            self.weights[index][level] if level is not None and counts else None
            for index, (level, counts) in enumerate(
                zip(vector, counted_fields(vector, self.weights), strict=True)
            )
        ]

    def _names_weight(self, names: tuple[Level, Level]) -> float:
        return sum(
            self.weights[index][level] for index, level in enumerate(names) if level is not None
        )

    def compare(self, a: PreparedRecord, b: PreparedRecord) -> tuple[ComparisonVector, bool]:
        """Comparison levels for a pair, and whether first/last were compared crosswise.

        The crosswise reading is considered only when both records have both names (so it
        cannot turn a disagreement into missing evidence) and taken only when its name
        evidence is strictly stronger. Ordering the pair first keeps scores symmetric.
        """
        left, right = (a, b) if _precedes(a, b) else (b, a)
        names = name_levels(left, right, swapped=False)
        swapped = False
        if (
            left.first_name is not None
            and left.last_name is not None
            and right.first_name is not None
            and right.last_name is not None
        ):
            crossed = name_levels(left, right, swapped=True)
            swapped = self._names_weight(crossed) > self._names_weight(names)
            if swapped:
                names = crossed
        return (*names, *other_levels(left, right)), swapped

    def weight_of(self, vector: ComparisonVector) -> float:
        """The pair weight `score_vector` gives, without building its explanation."""
        return self.prior_weight + sum(w for w in self._field_weights(vector) if w is not None)

    def score_vector(self, vector: ComparisonVector, *, swapped: bool = False) -> MatchScore:
        evidence: list[FieldEvidence] = []
        counted = self._field_weights(vector)
        for index, (field, level) in enumerate(zip(FIELDS, vector, strict=True)):
            if level is None:
                evidence.append(FieldEvidence(field, MISSING, 0.0))
                continue
            label = LEVELS[field][level]
            if swapped and field in (FIRST_NAME, LAST_NAME):
                label += _SWAPPED_SUFFIX
            weight = counted[index]
            evidence.append(FieldEvidence(field, label, weight or 0.0, counted=weight is not None))
        weight = self.prior_weight + sum(item.weight for item in evidence)
        return MatchScore(
            weight=weight,
            probability=probability_from_weight(weight),
            evidence=tuple(evidence),
            conflicts=conflicts_of(vector, swapped=swapped),
        )

    def score(self, a: PreparedRecord, b: PreparedRecord) -> MatchScore:
        vector, swapped = self.compare(a, b)
        return self.score_vector(vector, swapped=swapped)

    def estimate(
        self, records: Sequence[PreparedRecord], *, seed: int = 0, max_pairs: int = 200_000
    ) -> MatchModel:
        """A model fitted to these records.

        u comes from random pairs (almost all are different people). m and the prior come
        from expectation-maximisation over the blocked candidate pairs, assuming fields agree
        independently given match status. Within the EM the non-match distribution is fitted
        too, because different people who share a block agree on names far more often than
        random pairs do; holding it at the random-pair u would let the match class swallow
        them. The candidate-level match share is then scaled back to a random-pair prior,
        the scale u is on. Levels never observed keep this model's probabilities; everything
        is clamped to [1e-6, 1 - 1e-6].
        """
        if len(records) < 2 or max_pairs < 1:
            return self
        rng = random.Random(seed)
        u = self._estimate_u(records, rng, max_pairs)
        all_candidates = sorted(candidate_pairs(records, max_block_size=_EM_BLOCK_SIZE))
        if not all_candidates:
            return MatchModel(prior=self.prior, m=self.m, u=u)
        sampled = (
            sorted(rng.sample(all_candidates, max_pairs))
            if len(all_candidates) > max_pairs
            else all_candidates
        )
        patterns = Counter(self.compare(records[i], records[j])[0] for i, j in sampled)
        total_pairs = len(records) * (len(records) - 1) // 2
        start_share = min(max(self.prior * total_pairs / len(all_candidates), 0.01), 0.5)
        candidate_share, m = _expectation_maximisation(start_share, self.m, u, patterns)
        prior = _clamp(candidate_share * len(all_candidates) / total_pairs)
        return MatchModel(prior=prior, m=m, u=u)

    def _estimate_u(
        self, records: Sequence[PreparedRecord], rng: random.Random, max_pairs: int
    ) -> tuple[tuple[float, ...], ...]:
        count = len(records)
        pairs: Iterable[tuple[int, int]]
        if count * (count - 1) // 2 <= max_pairs:
            pairs = ((i, j) for i in range(count) for j in range(i + 1, count))
        else:
            pairs = (_random_pair(rng, count) for _ in range(max_pairs))
        level_counts = [Counter[int]() for _ in FIELDS]
        for i, j in pairs:
            vector, _ = self.compare(records[i], records[j])
            for index, level in enumerate(vector):
                if level is not None:
                    level_counts[index][level] += 1
        return tuple(
            _frequencies(counts, default)
            for counts, default in zip(level_counts, self.u, strict=True)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": MODEL_FORMAT_VERSION,
            "prior": self.prior,
            "fields": {
                field: {"levels": list(LEVELS[field]), "m": list(ms), "u": list(us)}
                for field, ms, us in zip(FIELDS, self.m, self.u, strict=True)
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatchModel:
        if data.get("version") != MODEL_FORMAT_VERSION:
            raise ValueError(f"unsupported model format version: {data.get('version')!r}")
        fields = data["fields"]
        if set(fields) != set(FIELDS):
            raise ValueError("model fields do not match the comparisons")
        for field in FIELDS:
            if tuple(fields[field]["levels"]) != LEVELS[field]:
                raise ValueError(f"model levels for {field} do not match the comparisons")
        return cls(
            prior=float(data["prior"]),
            m=tuple(tuple(float(p) for p in fields[field]["m"]) for field in FIELDS),
            u=tuple(tuple(float(p) for p in fields[field]["u"]) for field in FIELDS),
        )


def _precedes(a: PreparedRecord, b: PreparedRecord) -> bool:
    """A fixed order of the two sides of a pair, so that scores are symmetric."""
    if a.record_id != b.record_id:
        return a.record_id < b.record_id
    # the same id on two versions of a record: rare, so the costly tie-break is fine here
    return repr(a) <= repr(b)


def counted_fields(vector: ComparisonVector, weights: Sequence[Sequence[float]]) -> list[bool]:
    """Which present fields count towards a pair's weight: all but the location group's
    members other than the one that speaks for it.

    The group's voice is its strongest agreement, unless a member disagrees outright
    (another postcode or city makes a similar street line someone else's): then its mildest
    disagreement. A street line that agrees, in a postcode or city that agrees, is one
    place: the other area field is a typo or another way to name the area.
    """
    counts = [level is not None for level in vector]
    present = [i for i in _LOCATION_INDEXES if vector[i] is not None]
    if len(present) > 1:
        differing = {i for i in present if LEVELS[FIELDS[i]][vector[i]] == DIFFERENT}  # type: ignore[index]
        street_agrees = _ADDRESS_INDEX in present and _ADDRESS_INDEX not in differing
        area_agrees = any(i != _ADDRESS_INDEX and i not in differing for i in present)
        pick = min if differing and not (street_agrees and area_agrees) else max
        kept = pick(present, key=lambda i: weights[i][vector[i]])  # type: ignore[index]
        for i in present:
            counts[i] = i == kept
    return counts


def conflicts_of(vector: ComparisonVector, *, swapped: bool) -> tuple[str, ...]:
    """The fields whose disagreement keeps a pair from an automatic merge.

    A person's own facts are the given name, the family name and the birth date; an
    address, a home phone and a family name are shared by a household. One personal fact
    disagreeing is a typo no level explains, a changed name or a wrong birth date when the
    others vouch for the person: a birth date to the day for a name, both names for the
    birth date. Two disagreeing (a spouse: another given name and birthday), or a given name
    merely alike in one family at one address with nothing personal agreeing, are for a
    reviewer, however strong the rest.
    """
    conflicts = [
        field
        for field, level in zip(FIELDS, vector, strict=True)
        if level is not None and CONFLICTING_LEVELS.get(field) == LEVELS[field][level]
    ]
    email_agrees = vector[_EMAIL_INDEX] == 0
    birth_date_agrees = vector[_DATE_OF_BIRTH_INDEX] == 0
    names_agree = all(
        level is not None and level <= _NAME_AGREES[field]
        for field, level in zip((FIRST_NAME, LAST_NAME), vector[:2], strict=True)
    )
    if birth_date_agrees and email_agrees:
        # one inbox and one birthday: a name written two ways, not two people
        return tuple(field for field in conflicts if field not in (FIRST_NAME, LAST_NAME))
    if len(conflicts) == 1 and (
        (conflicts[0] == DATE_OF_BIRTH and names_agree)
        or (conflicts[0] != DATE_OF_BIRTH and birth_date_agrees)
    ):
        return ()
    if (
        not conflicts
        and _looks_like_household(vector, swapped=swapped)
        and not (email_agrees or birth_date_agrees)
    ):
        return (FIRST_NAME,)
    return tuple(conflicts)


def _looks_like_household(vector: ComparisonVector, *, swapped: bool) -> bool:
    """One family name at the same address or on the same phone (a home line), first
    names merely alike (juan, joan): a relative as often as a typo, so not for an automatic
    merge without a personal identifier (email, birth date) to tell them apart."""
    first_name, last_name = vector[0], vector[1]
    same_place = (
        vector[_ADDRESS_INDEX] in (0, 1)
        or (vector[_ADDRESS_INDEX] is None and vector[_POSTCODE_INDEX] == 0)
        or vector[_PHONE_INDEX] == 0
    )
    return (
        not swapped
        and last_name == 0
        and first_name is not None
        and first_name > _NICKNAME_LEVEL
        and same_place
    )


def _random_pair(rng: random.Random, count: int) -> tuple[int, int]:
    i, j = rng.sample(range(count), 2)
    return (i, j) if i < j else (j, i)


def _frequencies(counts: Counter[int], default: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(counts.values())
    if total == 0:
        return default
    return tuple(_clamp(counts[level] / total) for level in range(len(default)))


def _expectation_maximisation(
    match_share: float,
    m: tuple[tuple[float, ...], ...],
    u: tuple[tuple[float, ...], ...],
    patterns: Counter[ComparisonVector],
) -> tuple[float, tuple[tuple[float, ...], ...]]:
    """Match share and m fitted to comparison patterns of candidate pairs."""
    observed: list[set[int]] = [set() for _ in FIELDS]
    for vector in patterns:
        for index, level in enumerate(vector):
            if level is not None:
                observed[index].add(level)
    # a fixed order keeps floating-point sums, and so results, identical run to run
    ordered = sorted(
        patterns.items(), key=lambda item: tuple(-1 if v is None else v for v in item[0])
    )
    total = sum(patterns.values())
    for _ in range(_EM_MAX_ITERATIONS):
        log_m = [[math.log(p) for p in ps] for ps in m]
        log_u = [[math.log(p) for p in ps] for ps in u]
        weights = [
            [a - b for a, b in zip(ms, us, strict=True)]
            for ms, us in zip(log_m, log_u, strict=True)
        ]
        match_total = 0.0
        match_mass = [[0.0] * len(ps) for ps in m]
        non_match_mass = [[0.0] * len(ps) for ps in u]
        for vector, count in ordered:
            log_match = math.log(match_share)
            log_non_match = math.log(1.0 - match_share)
            # the evidence a pair is scored on: the location group counts once here too
            for index, (level, counts) in enumerate(
                zip(vector, counted_fields(vector, weights), strict=True)
            ):
                if level is not None and counts:
                    log_match += log_m[index][level]
                    log_non_match += log_u[index][level]
            posterior = 1.0 / (1.0 + math.exp(min(log_non_match - log_match, 700.0)))
            match_total += posterior * count
            for index, level in enumerate(vector):
                if level is not None:
                    match_mass[index][level] += posterior * count
                    non_match_mass[index][level] += (1.0 - posterior) * count
        new_share = _clamp(match_total / total)
        new_m = tuple(
            _maximised_field(m[index], match_mass[index], observed[index])
            for index in range(len(FIELDS))
        )
        u = tuple(
            _maximised_field(u[index], non_match_mass[index], observed[index])
            for index in range(len(FIELDS))
        )
        change = max(
            abs(new_share - match_share),
            *(
                abs(a - b)
                for old, new in zip(m, new_m, strict=True)
                for a, b in zip(old, new, strict=True)
            ),
        )
        match_share, m = new_share, new_m
        if change < _EM_TOLERANCE:
            break
    return match_share, m


def _maximised_field(
    current: tuple[float, ...], level_mass: list[float], observed: set[int]
) -> tuple[float, ...]:
    field_mass = sum(level_mass)
    if field_mass <= 0.0 or not observed:
        return current
    # unobserved levels keep their probability; observed ones share what is left
    kept = sum(p for level, p in enumerate(current) if level not in observed)
    share = max(1.0 - kept, 0.0)
    return tuple(
        _clamp(level_mass[level] / field_mass * share) if level in observed else current[level]
        for level in range(len(current))
    )
