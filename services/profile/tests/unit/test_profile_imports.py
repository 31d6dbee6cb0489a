"""Import files read record by record, columns mapped to fields, rows validated."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook  # type: ignore[import-untyped]

from patron_profile.adapters.import_files import (
    ROW_ERROR,
    FileFormatError,
    RecordReader,
    format_of,
)
from patron_profile.domain.customer import Customer
from patron_profile.domain.import_jobs import STALLED_AFTER, ImportJob
from patron_profile.domain.imports import (
    NEW_CUSTOMER_COLUMNS,
    ColumnMapping,
    DuplicateFinder,
    ImportRow,
    RowError,
    changes_for,
    new_customer_record,
    parse_mapping,
    validate_row,
)
from patron_profile.service.import_reading import BatchReader, FileToRead
from patron_shared.errors import InvalidInput
from patron_shared.events import CustomerCreated, utcnow


def records(tmp_path: Path, content: bytes, file_format: str) -> list[tuple[int, dict[str, Any]]]:
    path = tmp_path / f"upload.{file_format}"
    path.write_bytes(content)
    reader = RecordReader(path, file_format)
    try:
        return list(reader)
    finally:
        reader.close()


def test_csv_records_carry_their_spreadsheet_row_numbers(tmp_path: Path) -> None:
    content = '\ufeffE-mail,First name\r\na@example.com,Ann\r\n\r\n"b@example.com","B, Jr"\r\n'
    found = records(tmp_path, content.encode(), "csv")
    assert found == [
        (2, {"E-mail": "a@example.com", "First name": "Ann"}),
        (4, {"E-mail": "b@example.com", "First name": "B, Jr"}),
    ]


def test_csv_with_semicolons_is_read_as_such(tmp_path: Path) -> None:
    found = records(tmp_path, b"email;last_name\nx@example.com;Doe\n", "csv")
    assert found == [(2, {"email": "x@example.com", "last_name": "Doe"})]


def test_a_json_array_is_read_object_by_object_across_chunks(tmp_path: Path) -> None:
    items = [{"email": f"user{n}@example.com", "notes": "x" * 5000} for n in range(40)]
    items.insert(3, 42)  # type: ignore[arg-type]
    found = records(tmp_path, json.dumps(items).encode(), "json")
    assert len(found) == 41
    assert found[0] == (1, items[0])
    assert found[3] == (4, {ROW_ERROR: "not a JSON object"})
    assert found[-1][1]["email"] == "user39@example.com"


def test_a_file_that_is_not_a_json_array_fails_as_a_whole(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError):
        records(tmp_path, b'{"email": "a@example.com"}', "json")
    with pytest.raises(FileFormatError):
        records(tmp_path, b'[{"email": "a@example.com"}', "json")


def test_ndjson_reports_a_line_that_is_not_json_and_reads_the_others(tmp_path: Path) -> None:
    found = records(tmp_path, b'{"email": "a@example.com"}\nnot json\n\n{"email": "b"}\n', "ndjson")
    assert [number for number, _ in found] == [1, 2, 4]
    assert ROW_ERROR in found[1][1]


def test_xlsx_first_sheet_is_read_with_dates_and_numbers_as_text(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Email", "Phone", "Birthday"])
    sheet.append(["a@example.com", 14155550123, date(1990, 4, 1)])
    sheet.append([None, None, None])
    sheet.append(["b@example.com", None, None])
    path = tmp_path / "upload.xlsx"
    workbook.save(path)
    reader = RecordReader(path, "xlsx")
    found = list(reader)
    reader.close()
    assert found[0] == (
        2,
        {"Email": "a@example.com", "Phone": "14155550123", "Birthday": "1990-04-01"},
    )
    assert found[1][0] == 4
    assert reader.position() == path.stat().st_size


def test_formats_come_from_the_content_type() -> None:
    assert format_of("text/csv; charset=utf-8") == "csv"
    assert format_of("application/x-ndjson") == "ndjson"
    with pytest.raises(InvalidInput) as error:
        format_of("text/plain")
    assert error.value.field == "Content-Type"


def test_columns_map_by_name_unless_the_caller_maps_them() -> None:
    mapping = ColumnMapping(explicit=parse_mapping({"Courriel": "email", "Internal": None}))
    values = mapping.apply(
        {
            "Courriel": "a@example.com",
            "E-mail": "other@example.com",
            "Surname": "Doe",
            "Internal": "x",
        }
    )
    assert values == {"email": "a@example.com", "last_name": "Doe"}
    assert sorted(mapping.ignored) == ["E-mail", "Internal"]


def test_a_mapping_to_an_unknown_or_repeated_field_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not a field"):
        parse_mapping({"x": "loyalty_points"})
    with pytest.raises(InvalidInput, match="both map"):
        parse_mapping({"a": "email", "b": "email"})


def test_a_valid_row_is_normalised_as_the_api_does() -> None:
    row = validate_row(
        2,
        {
            "email": " Jane.Doe@Example.COM ",
            "phone": "(415) 555-0123",
            "first_name": "  Jane  ",
            "tags": "VIP; gift ,vip",
            "gender": "Non-binary",
            "date_of_birth": "1990-04-01",
            "notes": "",
        },
        phone_default_region="US",
    )
    assert isinstance(row, ImportRow)
    assert row.fields == {
        "email": "jane.doe@example.com",
        "phone": "+14155550123",
        "first_name": "Jane",
        "tags": ["vip", "gift"],
        "gender": "non_binary",
        "date_of_birth": date(1990, 4, 1),
    }


def test_a_bad_row_reports_every_field_in_trouble() -> None:
    errors = validate_row(
        7,
        {"email": "not-an-email", "phone": "12", "status": "gone", "date_of_birth": "01/02/1990"},
        phone_default_region="US",
    )
    assert isinstance(errors, list)
    assert [(e.row, e.field) for e in errors] == [
        (7, "email"),
        (7, "phone"),
        (7, "date_of_birth"),
        (7, "status"),
    ]


def test_blank_cells_are_absent_and_overlong_values_name_their_limit() -> None:
    row = validate_row(
        4,
        {"email": "a@example.com", "first_name": "   ", "tags": "", "notes": "\t", "phone": None},
        phone_default_region="US",
    )
    assert row == ImportRow(4, {"email": "a@example.com"})
    errors = validate_row(
        5,
        {"email": "a@example.com", "phone": "1" * 33, "last_name": "x" * 201},
        phone_default_region="US",
    )
    assert errors == [
        RowError(5, "phone", "at most 32 characters"),
        RowError(5, "last_name", "at most 200 characters"),
    ]
    # cells that are not text (JSON numbers, spreadsheet values) are read as their text
    typed = validate_row(
        6, {"email": "a@example.com", "phone": 4155550123}, phone_default_region="US"
    )
    assert typed == ImportRow(6, {"email": "a@example.com", "phone": "+14155550123"})


def test_email_is_required() -> None:
    assert validate_row(3, {"first_name": "Ann"}, phone_default_region="US") == [
        RowError(3, "email", "required: imports match customers by email")
    ]


def test_a_later_row_with_the_same_email_is_a_duplicate_of_the_first() -> None:
    finder = DuplicateFinder()
    first = ImportRow(2, {"email": "a@example.com"})
    assert finder.first_row_of(first) is None
    assert finder.first_row_of(ImportRow(3, {"email": "b@example.com"})) is None
    assert finder.first_row_of(ImportRow(9, {"email": "a@example.com"})) == 2


def test_an_import_adds_tags_and_sets_only_what_the_row_gives() -> None:
    now = utcnow()
    customer = Customer(
        id=uuid.uuid4(),
        tenant_id="t",
        created_at=now,
        updated_at=now,
        email="a@example.com",
        first_name="Ann",
        tags=["old"],
    )
    changes = changes_for(customer, {"email": "a@example.com", "last_name": "Lee", "tags": ["new"]})
    assert changes == {"last_name": "Lee", "tags": ["old", "new"]}


def a_job(now: datetime) -> ImportJob:
    return ImportJob(
        id=uuid.uuid4(),
        tenant_id="t",
        format="csv",
        dry_run=False,
        mapping={},
        file_bytes=1_000,
        created_at=now,
        updated_at=now,
    )


def test_progress_is_the_share_of_the_file_read_until_the_job_ends() -> None:
    now = utcnow()
    job = a_job(now)
    assert job.progress == 0.0
    job.start(now, runner=uuid.uuid4(), batch_size=500)
    job.read_bytes = 250
    assert job.progress == 0.25
    job.read_bytes = 1_000  # read, not yet written
    assert job.progress == 0.99
    job.finish(now)
    assert (job.status, job.progress) == ("completed", 1.0)
    job.finish(now, failure="the file is not UTF-8 text")
    assert job.status == "failed"


def test_a_job_silent_for_too_long_is_seen_as_failed_and_a_finished_one_never() -> None:
    started = utcnow()
    job = a_job(started)
    job.start(started, runner=uuid.uuid4(), batch_size=500)
    job.counts.rows = 4_000
    assert job.as_of(started + STALLED_AFTER) is job
    stalled = job.as_of(started + STALLED_AFTER + timedelta(seconds=1))
    assert (stalled.status, stalled.progress) == ("failed", 1.0)
    assert stalled.failure is not None
    assert "the 4000 rows counted were imported" in stalled.failure
    assert "resumes where it stopped" in stalled.failure
    assert job.status == "running"  # what is stored does not change
    job.finish(started)
    assert job.as_of(started + timedelta(days=1)).status == "completed"


def test_a_resumed_job_keeps_its_first_start_and_how_its_file_is_cut() -> None:
    started = utcnow()
    job = a_job(started)
    first_run, second_run = uuid.uuid4(), uuid.uuid4()
    job.start(started, runner=first_run, batch_size=500)
    later = started + timedelta(minutes=5)
    job.start(later, runner=second_run, batch_size=2_000)  # the settings changed meanwhile
    assert (job.started_at, job.updated_at) == (started, later)
    assert (job.runner, job.batch_size) == (second_run, 500)


_row_values = st.fixed_dictionaries(
    {"email": st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.com", fullmatch=True)},
    optional={
        "phone": st.sampled_from(["+14155550123", "+442079460958"]),
        "first_name": st.text(min_size=1, max_size=10),
        "last_name": st.text(min_size=1, max_size=10),
        "tags": st.lists(st.text("abc", min_size=1, max_size=3), max_size=3, unique=True),
        "notes": st.text(max_size=20),
        "source": st.sampled_from(["shopify", "crm"]),
        "status": st.sampled_from(["active", "disabled"]),
        "date_of_birth": st.dates(),
        "gender": st.sampled_from(["female", "other"]),
        "locale": st.sampled_from(["en", "fr-CA"]),
    },
)


@settings(max_examples=200, deadline=None)  # phone parsing: slow on a busy machine
@given(_row_values)
def test_a_created_customer_is_stored_as_the_aggregate_would(
    fields: dict[str, Any],
) -> None:
    row, customer_id, now = ImportRow(2, fields), uuid.uuid4(), utcnow()
    customer = Customer.register(
        customer_id=customer_id,
        tenant_id="t",
        now=now,
        imported=True,
        **({"source": "import"} | fields),
    )
    (created,) = customer.events
    assert isinstance(created, CustomerCreated)
    assert created.imported
    # (what an import announces of it: test_profile_import_events, on the database)
    stored = dict(
        zip(
            NEW_CUSTOMER_COLUMNS,
            new_customer_record(customer_id, "t", row, now=now, source="import"),
            strict=True,
        )
    )
    assert stored == {name: getattr(customer, name) for name in NEW_CUSTOMER_COLUMNS}


def test_a_file_found_malformed_midway_still_says_which_columns_fed_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "customers.csv"
    good = "".join(f"c{n}@example.com,{n}\n" for n in range(3_000))
    path.write_bytes(b"email,Loyalty card\n" + good.encode() + b"caf\xe9@example.com,1\n")
    reader = BatchReader(
        FileToRead(path=path, format="csv", mapping={}, phone_default_region="US", batch_size=1_000)
    )

    read: list[int] = []
    with pytest.raises(FileFormatError, match="not UTF-8"):
        read.extend(len(batch.rows) for batch in reader)

    assert read == [1_000, 1_000]  # the batches before the bad bytes' chunk
    assert reader.ignored_columns == ["Loyalty card"]
