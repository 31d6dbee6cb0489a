"""Deduplicating a CSV file of people: column mapping, row validation and the output rows.

Pure: the caller hands in CSV rows (from a file, an upload) and gets `PersonRecord`s back one
at a time, so a large file is never held as text. Errors name the column or field and the
line, as a spreadsheet user would look for them.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from patron_identity.domain.matching import PairDecision, PersonRecord
from patron_shared.errors import InvalidInput, PatronError

# The fields a file's columns can feed, named as merchants' exports usually name them.
FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "address1",
    "address2",
    "city",
    "state",
    "pincode",
    "country",
    "date_of_birth",
)
# Other headers that map themselves to a field.
HEADER_ALIASES: Mapping[str, str] = {
    "postcode": "pincode",
    "postal_code": "pincode",
    "zip": "pincode",
    "zip_code": "pincode",
    "dob": "date_of_birth",
}
# Tried in this order when no id column is named.
DEFAULT_ID_COLUMNS: tuple[str, ...] = ("id", "record_id", "customer_id")

CLUSTER_COLUMNS: tuple[str, ...] = (
    "id",
    "cluster_id",
    "cluster_size",
    "matched_ids",
    "match_scores",
    "match_decisions",
)
PAIR_COLUMNS: tuple[str, ...] = (
    "left_id",
    "right_id",
    "decision",
    "score",
    "weight",
    "explanation",
)
# Several matches of one record share a cell, in the same order in each of the three columns.
LIST_SEPARATOR = ";"
# Birth-date layouts read: year first with -, / or . or none (8 digits: YYYYMMDD), and the
# day-first dotted layout common in Europe. Slashes with the year last are refused: whether
# 01/02/1990 is January or February depends on the file's country, not on the value.
DATE_FORMATS = "YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD or DD.MM.YYYY"
_YEAR_FIRST = re.compile(r"(\d{4})([-/.]?)(\d{1,2})\2(\d{1,2})")
_DAY_FIRST_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
# how many ignored values a summary spells out; the rest are counted
IGNORED_EXAMPLES = 20


class FileTooLarge(PatronError):
    status = 413
    title = "Content Too Large"
    type_slug = "content-too-large"


def _header_key(name: str) -> str:
    return "_".join(name.strip().casefold().replace("-", " ").split())


def parse_column_map(pairs: Iterable[str]) -> dict[str, str]:
    """`column=field` pairs (as given on the command line or in a form) -> {column: field}."""
    renames: dict[str, str] = {}
    for pair in pairs:
        # field names never hold "=", column names might
        column, separator, field = pair.rpartition("=")
        column, field = column.strip(), field.strip()
        if not separator or not column or not field:
            raise InvalidInput("map", f"{pair!r} is not column=field", location="query")
        if field not in FIELDS:
            raise InvalidInput(
                "map",
                f"unknown field {field!r} for column {column!r}; one of {', '.join(FIELDS)}",
                location="query",
            )
        if column in renames and renames[column] != field:
            raise InvalidInput("map", f"column {column!r} is mapped twice", location="query")
        renames[column] = field
    return renames


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds the id and which columns feed which field."""

    header: tuple[str, ...]
    id_index: int
    # a field fed by several columns (mapped explicitly: street number and street) joins
    # their values with a space, in header order
    field_indexes: Mapping[str, tuple[int, ...]]

    @property
    def id_column(self) -> str:
        return self.header[self.id_index]

    @classmethod
    def from_header(
        cls,
        header: Sequence[str],
        renames: Mapping[str, str] | None = None,
        id_column: str | None = None,
    ) -> ColumnMapping:
        names = tuple(name.strip().lstrip("\ufeff").strip() for name in header)
        if not any(names):
            raise InvalidInput("file", "line 1: the header row is empty")
        position = {name: index for index, name in reversed(list(enumerate(names)))}
        renames = dict(renames or {})
        for column in renames:
            if column not in position:
                raise InvalidInput("map", f"no column {column!r} in the header", location="query")
        id_index = cls._id_index(names, position, id_column)
        field_indexes: dict[str, tuple[int, ...]] = {}
        for index, name in enumerate(names):
            if index == id_index:
                continue
            if name in renames:
                target = renames[name]
            else:
                key = _header_key(name)
                target = key if key in FIELDS else HEADER_ALIASES.get(key, "")
                # a field mapped explicitly wins over a column that happens to carry its name
                if not target or target in renames.values():
                    continue
                if target in field_indexes:
                    first = names[field_indexes[target][0]]
                    raise InvalidInput(
                        "map",
                        f"columns {first!r} and {name!r} both map to {target}; "
                        f"map the one to use (or both, to join them) with {first}={target}",
                        location="query",
                    )
            field_indexes[target] = (*field_indexes.get(target, ()), index)
        if len(field_indexes.get("date_of_birth", ())) > 1:
            raise InvalidInput(
                "map", "only one column can hold the date of birth", location="query"
            )
        return cls(header=names, id_index=id_index, field_indexes=field_indexes)

    @staticmethod
    def _id_index(
        names: tuple[str, ...], position: Mapping[str, int], id_column: str | None
    ) -> int:
        if id_column is not None:
            if id_column not in position:
                raise InvalidInput(
                    "id_column", f"no column {id_column!r} in the header", location="query"
                )
            return position[id_column]
        by_key = {_header_key(name): index for index, name in reversed(list(enumerate(names)))}
        for candidate in DEFAULT_ID_COLUMNS:
            if candidate in by_key:
                return by_key[candidate]
        raise InvalidInput(
            "id_column",
            f"no id column: none of {', '.join(DEFAULT_ID_COLUMNS)} in the header; "
            "name the column that identifies each row",
            location="query",
        )


@dataclass
class IgnoredValues:
    """Values of a file that name no real thing (a birth date of 31 February), each left out
    of its record's matching as if the cell were blank: dirty data is the reason to dedupe a
    file, and one bad cell should not refuse the whole file."""

    count: int = 0
    examples: list[str] = field(default_factory=list)  # the first IGNORED_EXAMPLES, spelt out

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.examples) < IGNORED_EXAMPLES:
            self.examples.append(message)


def read_people(
    rows: Iterable[str],
    *,
    renames: Mapping[str, str] | None = None,
    id_column: str | None = None,
    max_rows: int | None = None,
    ignored: IgnoredValues | None = None,
) -> Iterator[PersonRecord]:
    """People from CSV text lines (header first), one at a time, validated as they come.

    Raises `InvalidInput` naming the column and line for a missing id column, a blank or
    repeated id, a row wider than the header or a date of birth in none of `DATE_FORMATS`,
    and `FileTooLarge` past `max_rows` data rows. A date of birth in one of them that is no
    real day is left out of its record and told to `ignored`.
    """
    reader = csv.reader(rows)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("file", "the file is empty: expected a header row") from None
    except csv.Error as exc:
        raise InvalidInput("file", f"line 1: {exc}") from None
    mapping = ColumnMapping.from_header(header, renames, id_column)
    width = len(mapping.header)
    first_seen: dict[str, int] = {}
    count = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num
            raise InvalidInput("file", f"line {line}: {exc}", line=line) from None
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        count += 1
        if max_rows is not None and count > max_rows:
            raise FileTooLarge(f"more than {max_rows} rows; split the file", max_rows=max_rows)
        if len(row) > width:
            raise InvalidInput(
                "file", f"line {line}: {len(row)} columns, the header has {width}", line=line
            )
        yield _person(mapping, row, line, first_seen, ignored or IgnoredValues())


def _cell(row: Sequence[str], index: int) -> str | None:
    value = row[index].strip() if index < len(row) else ""
    return value or None


def _cells(row: Sequence[str], indexes: Sequence[int]) -> str | None:
    values = [value for value in (_cell(row, index) for index in indexes) if value]
    return " ".join(values) or None


def _person(
    mapping: ColumnMapping,
    row: Sequence[str],
    line: int,
    first_seen: dict[str, int],
    ignored: IgnoredValues,
) -> PersonRecord:
    record_id = _cell(row, mapping.id_index)
    if record_id is None:
        raise InvalidInput(
            mapping.id_column, f"line {line}: the id is blank", line=line, column=mapping.id_column
        )
    if record_id in first_seen:
        raise InvalidInput(
            mapping.id_column,
            f"line {line}: id {record_id!r} repeats line {first_seen[record_id]}",
            line=line,
            column=mapping.id_column,
        )
    first_seen[record_id] = line
    values = {name: _cells(row, indexes) for name, indexes in mapping.field_indexes.items()}
    date_of_birth = _date(values.pop("date_of_birth", None), mapping, line, ignored)
    postcode = values.pop("pincode", None)
    return PersonRecord(
        record_id=record_id, postcode=postcode, date_of_birth=date_of_birth, **values
    )


def parse_date(value: str) -> date | None:
    """A date in one of `DATE_FORMATS`; None when the layout fits but the day is not real
    (1990-02-31, 19561409). Raises ValueError for any other layout."""
    text = value.strip()
    if found := _YEAR_FIRST.fullmatch(text):
        year, month, day = found.group(1), found.group(3), found.group(4)
        if not found.group(2) and (len(month), len(day)) != (2, 2):
            raise ValueError(text)  # digits alone must be YYYYMMDD
    elif found := _DAY_FIRST_DOTTED.fullmatch(text):
        day, month, year = found.groups()
    else:
        raise ValueError(text)
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _date(
    value: str | None, mapping: ColumnMapping, line: int, ignored: IgnoredValues
) -> date | None:
    if value is None:
        return None
    column = mapping.header[mapping.field_indexes["date_of_birth"][0]]
    try:
        parsed = parse_date(value)
    except ValueError:
        raise InvalidInput(
            column,
            f"line {line}: date of birth {value!r} is not a date ({DATE_FORMATS})",
            line=line,
            column=column,
        ) from None
    if parsed is None:
        ignored.add(f"line {line}: date of birth {value!r} in {column!r} is no real day")
    return parsed


# --------------------------------------------------------------------------- output


@dataclass(frozen=True)
class RecordMatch:
    """One matched pair as seen from one of its records."""

    other_id: str
    score: float  # match probability
    weight: float  # log2 odds
    decision: str  # merge or review


@dataclass(frozen=True)
class ClusterRow:
    record_id: str
    cluster_id: str  # the survivor's id: the earliest row of the cluster
    cluster_size: int
    matches: tuple[RecordMatch, ...]


@dataclass(frozen=True)
class DedupeSummary:
    records: int
    clusters: int  # clusters of two or more records
    clustered_records: int
    merges: int  # pairs decided merge
    reviews: int  # pairs left for a person to review
    seconds: float
    ignored_values: int = 0  # cells left out as blank (see IgnoredValues)
    ignored_examples: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "clusters": self.clusters,
            "clustered_records": self.clustered_records,
            "merges": self.merges,
            "reviews": self.reviews,
            "seconds": round(self.seconds, 3),
            "ignored_values": self.ignored_values,
            "ignored_examples": list(self.ignored_examples),
        }


def cluster_rows(
    record_ids: Sequence[str], decisions: Sequence[PairDecision], clusters: Mapping[str, str]
) -> list[ClusterRow]:
    """One row per record, in file order, with its cluster and its matched pairs."""
    matches: dict[str, list[RecordMatch]] = defaultdict(list)
    for decision in decisions:
        for this, other in ((decision.left, decision.right), (decision.right, decision.left)):
            matches[this].append(
                RecordMatch(
                    other_id=other,
                    score=decision.score.probability,
                    weight=decision.score.weight,
                    decision=decision.decision,
                )
            )
    sizes: dict[str, int] = defaultdict(int)
    for survivor in clusters.values():
        sizes[survivor] += 1
    rows = []
    for record_id in record_ids:
        cluster_id = clusters.get(record_id, record_id)
        found = sorted(matches.get(record_id, ()), key=lambda m: (-m.weight, m.other_id))
        rows.append(ClusterRow(record_id, cluster_id, sizes.get(cluster_id, 1), tuple(found)))
    return rows


def summarize(
    rows: Sequence[ClusterRow],
    decisions: Sequence[PairDecision],
    seconds: float,
    ignored: IgnoredValues | None = None,
) -> DedupeSummary:
    sizes = {row.cluster_id: row.cluster_size for row in rows if row.cluster_size > 1}
    ignored = ignored or IgnoredValues()
    return DedupeSummary(
        records=len(rows),
        clusters=len(sizes),
        clustered_records=sum(sizes.values()),
        merges=sum(1 for d in decisions if d.decision == "merge"),
        reviews=sum(1 for d in decisions if d.decision == "review"),
        seconds=seconds,
        ignored_values=ignored.count,
        ignored_examples=tuple(ignored.examples),
    )


def _score(probability: float) -> str:
    return f"{probability:.6f}"


def _weight(weight: float) -> str:
    return f"{weight:.2f}"


def cluster_csv_row(row: ClusterRow) -> list[str]:
    return [
        row.record_id,
        row.cluster_id,
        str(row.cluster_size),
        LIST_SEPARATOR.join(m.other_id for m in row.matches),
        LIST_SEPARATOR.join(_score(m.score) for m in row.matches),
        LIST_SEPARATOR.join(m.decision for m in row.matches),
    ]


def cluster_json(row: ClusterRow) -> dict[str, Any]:
    return {
        "id": row.record_id,
        "cluster_id": row.cluster_id,
        "cluster_size": row.cluster_size,
        "matches": [
            {
                "id": m.other_id,
                "score": round(m.score, 6),
                "weight": round(m.weight, 2),
                "decision": m.decision,
            }
            for m in row.matches
        ],
    }


def explanation(decision: PairDecision) -> list[dict[str, Any]]:
    """Each compared field: how it compared and what it added to the pair's weight."""
    return [
        {"field": item.field, "level": item.level, "weight": round(item.weight, 2)}
        for item in decision.score.evidence
    ]


def pair_csv_row(decision: PairDecision) -> list[str]:
    evidence = " ".join(
        f"{item.field}={item.level}({item.weight:+.2f})" for item in decision.score.evidence
    )
    return [
        decision.left,
        decision.right,
        decision.decision,
        _score(decision.score.probability),
        _weight(decision.score.weight),
        evidence,
    ]


def pair_json(decision: PairDecision) -> dict[str, Any]:
    return {
        "left_id": decision.left,
        "right_id": decision.right,
        "decision": decision.decision,
        "score": round(decision.score.probability, 6),
        "weight": round(decision.score.weight, 2),
        "explanation": explanation(decision),
    }
