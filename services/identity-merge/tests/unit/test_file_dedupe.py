"""Deduplicating a CSV file: column mapping, validation and the output rows."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron_identity.domain.file_dedupe import (
    CLUSTER_COLUMNS,
    ColumnMapping,
    FileTooLarge,
    IgnoredValues,
    cluster_csv_row,
    parse_column_map,
    parse_date,
    read_people,
)
from patron_identity.domain.matching import NormalizationRules
from patron_identity.service.file_dedupe import FileDedupeOptions, dedupe_file
from patron_shared.errors import InvalidInput

RULES = NormalizationRules()


def lines(text: str) -> io.StringIO:
    return io.StringIO(text, newline="")


def test_columns_named_like_fields_map_themselves_and_postcode_feeds_pincode() -> None:
    mapping = ColumnMapping.from_header(["id", "First Name", "EMAIL", "postcode", "notes"])

    assert mapping.id_column == "id"
    assert mapping.field_indexes == {"first_name": (1,), "email": (2,), "pincode": (3,)}


def test_a_mapped_column_renames_and_wins_over_a_column_carrying_the_fields_name() -> None:
    renames = parse_column_map(["E-mail=email", "Kunde=first_name"])

    mapping = ColumnMapping.from_header(["Kunde", "email", "E-mail", "cid"], renames, "cid")

    assert mapping.field_indexes == {"first_name": (0,), "email": (2,)}
    assert mapping.id_column == "cid"


def test_mapping_to_an_unknown_field_is_an_error_naming_field_and_column() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_column_map(["E-mail=e_mail"])

    assert raised.value.field == "map"
    assert "'e_mail'" in raised.value.message
    assert "'E-mail'" in raised.value.message


def test_mapping_a_column_the_header_lacks_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="no column 'Mail'"):
        ColumnMapping.from_header(["id", "email"], {"Mail": "email"})


def test_a_file_without_an_id_column_is_an_error_naming_the_id_column() -> None:
    with pytest.raises(InvalidInput) as raised:
        list(read_people(lines("first_name,email\nAnn,ann@example.com\n")))

    assert raised.value.field == "id_column"


def test_a_named_id_column_missing_from_the_header_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="no column 'ref'"):
        list(read_people(lines("id,email\n1,a@example.com\n"), id_column="ref"))


def test_a_repeated_id_is_an_error_naming_both_lines() -> None:
    text = "id,first_name\n1,Ann\n2,Bob\n1,Cy\n"

    with pytest.raises(InvalidInput) as raised:
        list(read_people(lines(text)))

    assert raised.value.field == "id"
    assert "line 4" in raised.value.message
    assert "line 2" in raised.value.message


def test_a_date_of_birth_that_is_not_a_date_is_an_error_naming_column_and_line() -> None:
    text = "id,Birthday\n1,1990-01-31\n2,31/01/1990\n"

    with pytest.raises(InvalidInput) as raised:
        list(read_people(lines(text), renames={"Birthday": "date_of_birth"}))

    assert raised.value.field == "Birthday"
    assert "line 3" in raised.value.message
    assert raised.value.extensions["line"] == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-01-31", date(1990, 1, 31)),
        ("1990/1/31", date(1990, 1, 31)),
        ("1990.01.31", date(1990, 1, 31)),
        ("19900131", date(1990, 1, 31)),
        ("31.01.1990", date(1990, 1, 31)),
        (" 1.2.1990 ", date(1990, 2, 1)),
        ("1990-02-31", None),
        ("19561409", None),
    ],
)
def test_dates_of_birth_are_read_in_the_usual_layouts(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31/01/1990", "01-31-1990", "1990131", "1990-01-31T00:00", "x"])
def test_an_ambiguous_or_unknown_date_layout_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(text)):
        parse_date(text)


def test_a_birth_date_that_is_no_real_day_is_left_out_and_reported_not_fatal() -> None:
    ignored = IgnoredValues()
    text = "id,first_name,dob\n1,Ann,19561409\n2,Bob,19560409\n"

    people = list(read_people(lines(text), ignored=ignored))

    assert [p.date_of_birth for p in people] == [None, date(1956, 4, 9)]
    assert ignored.count == 1
    assert ignored.examples == ["line 2: date of birth '19561409' in 'dob' is no real day"]


def test_several_columns_mapped_to_one_field_are_joined_in_header_order() -> None:
    renames = parse_column_map(["street_number=address1", "address_1=address1"])
    text = "rec_id,street_number,address_1\nr1,7,wallaby place\nr2,,kent street\n"

    people = list(read_people(lines(text), renames=renames, id_column="rec_id"))

    assert [p.address1 for p in people] == ["7 wallaby place", "kent street"]


def test_two_columns_named_for_one_field_are_an_error_saying_how_to_choose() -> None:
    with pytest.raises(InvalidInput, match="both map to pincode; map the one to use"):
        ColumnMapping.from_header(["id", "zip", "postcode"])


def test_a_row_wider_than_the_header_is_an_error() -> None:
    with pytest.raises(InvalidInput, match="line 2: 3 columns, the header has 2"):
        list(read_people(lines("id,email\n1,a@example.com,extra\n")))


def test_more_rows_than_allowed_is_too_large() -> None:
    text = "id\n" + "".join(f"{n}\n" for n in range(6))

    with pytest.raises(FileTooLarge) as raised:
        list(read_people(lines(text), max_rows=5))

    assert raised.value.status == 413


def test_rows_become_people_with_blank_cells_as_missing_and_blank_lines_skipped() -> None:
    text = (
        "id,first_name,last_name,email,phone,pincode,date_of_birth\n"
        "7,Ann, Lee ,,,SW1A 1AA,1990-01-31\n\n"
    )

    (person,) = read_people(lines(text))

    assert person.record_id == "7"
    assert (person.first_name, person.last_name) == ("Ann", "Lee")
    assert person.email is None
    assert person.phone is None
    assert person.postcode == "SW1A 1AA"
    assert person.date_of_birth == date(1990, 1, 31)


def test_people_with_neither_email_nor_phone_are_still_matched() -> None:
    text = (
        "id,first_name,last_name,address1,city,pincode,country,date_of_birth\n"
        "a,Robert,Smith,12 Oak Street,Austin,78701,US,1980-05-17\n"
        "b,Bob,Smith,12 Oak St,Austin,78701,US,1980-05-17\n"
        "c,Maria,Garcia,1 Elm Road,Boston,02110,US,1975-02-02\n"
    )

    result = dedupe_file(lines(text), FileDedupeOptions(), rules=RULES)

    by_id = {row.record_id: row for row in result.rows}
    assert by_id["a"].matches[0].other_id == "b"
    assert by_id["b"].matches[0].other_id == "a"
    assert by_id["c"].matches == ()
    assert by_id["c"].cluster_id == "c"


def test_each_record_gets_one_row_whose_cluster_is_its_earliest_member() -> None:
    text = (
        "id,first_name,last_name,email,phone\n"
        "x1,Ann,Lee,ann.lee@example.com,+14155550101\n"
        "x2,Zed,Marsh,zed@example.com,\n"
        "x3,Ann,Lee,ann.lee@example.com,+14155550101\n"
    )

    result = dedupe_file(lines(text), FileDedupeOptions(), rules=RULES)

    rows = [cluster_csv_row(row) for row in result.rows]
    assert [row[:3] for row in rows] == [["x1", "x1", "2"], ["x2", "x2", "1"], ["x3", "x1", "2"]]
    assert rows[0][3] == "x3"
    assert rows[0][5] == "merge"
    assert float(rows[0][4]) > 0.999
    assert result.summary.records == 3
    assert (result.summary.clusters, result.summary.merges) == (1, 1)
    (pair,) = result.pairs
    fields_explained = {item.field for item in pair.score.evidence}
    assert {"first_name", "last_name", "email", "phone"} <= fields_explained


NAMES = ("Ann", "Anne", "Bob", "Robert", "Lee", "Li", "Smith", "Smyth")
person_rows = st.lists(
    st.tuples(
        st.sampled_from(NAMES),
        st.sampled_from(NAMES),
        st.sampled_from(("", "a@example.com", "b@example.com")),
        st.sampled_from(("", "+14155550101", "+14155550102")),
    ),
    min_size=1,
    max_size=25,
)


@given(person_rows)
@settings(max_examples=60, deadline=None)
def test_clusters_cover_every_record_once_and_matches_are_seen_from_both_sides(
    people: list[tuple[str, str, str, str]],
) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "first_name", "last_name", "email", "phone"])
    writer.writerows([f"r{n}", *person] for n, person in enumerate(people))

    result = dedupe_file(lines(out.getvalue()), FileDedupeOptions(), rules=RULES)

    assert [row.record_id for row in result.rows] == [f"r{n}" for n in range(len(people))]
    order = {row.record_id: n for n, row in enumerate(result.rows)}
    sizes: dict[str, int] = {}
    for row in result.rows:
        sizes[row.cluster_id] = sizes.get(row.cluster_id, 0) + 1
        # the survivor is the cluster's earliest row
        assert order[row.cluster_id] <= order[row.record_id]
    matched = {(row.record_id, m.other_id, m.decision) for row in result.rows for m in row.matches}
    for row in result.rows:
        assert row.cluster_size == sizes[row.cluster_id]
        for match in row.matches:
            assert (match.other_id, row.record_id, match.decision) in matched
            if match.decision == "merge":
                assert result.rows[order[match.other_id]].cluster_id == row.cluster_id
    assert len(CLUSTER_COLUMNS) == len(cluster_csv_row(result.rows[0]))
