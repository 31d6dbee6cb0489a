"""Reading and validating an import file, batch by batch, beside the writing.

The file is read record by record and each record validated (`domain.imports`), with the
duplicates within the file reported, in batches of `batch_size` records. This is the part
of an import that is pure Python work, so it runs in a worker thread, apart from the event
loop that feeds the database. Nothing here touches the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patron_profile.adapters.import_files import ROW_ERROR, RecordReader
from patron_profile.domain.import_jobs import PREVIEW_ROWS
from patron_profile.domain.imports import (
    ColumnMapping,
    DuplicateFinder,
    ImportRow,
    RowError,
    validate_row,
)

Record = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class FileToRead:
    path: Path
    format: str
    mapping: dict[str, str | None]
    phone_default_region: str
    batch_size: int


@dataclass(frozen=True)
class ValidatedBatch:
    """Records read and validated, waiting for a writer."""

    first_record: int  # the position in the file of the first record (from 0)
    record_count: int
    preview_records: list[Record]  # those among the file's first `PREVIEW_ROWS`
    rows: list[ImportRow]  # the valid ones, duplicates left out
    errors: list[RowError]
    read_bytes: int


@dataclass
class BatchReader:
    """The file's validated batches (iterate once), and the columns that fed no field."""

    file: FileToRead
    ignored_columns: list[str] = field(default_factory=list)

    def __iter__(self) -> Generator[ValidatedBatch, None, None]:
        mapping = ColumnMapping(explicit=dict(self.file.mapping))
        duplicates = DuplicateFinder()
        reader = RecordReader(self.file.path, self.file.format)
        try:
            records: list[Record] = []
            first_record = 0
            for record in reader:
                records.append(record)
                if len(records) >= self.file.batch_size:
                    batch = self._validated(mapping, duplicates, reader, first_record, records)
                    self.ignored_columns = list(dict.fromkeys(mapping.ignored))
                    yield batch
                    first_record += len(records)
                    records = []
            if records or first_record == 0:
                yield self._validated(mapping, duplicates, reader, first_record, records)
        finally:
            reader.close()
            # so far, if the file turned out malformed
            self.ignored_columns = list(dict.fromkeys(mapping.ignored))

    def _validated(
        self,
        mapping: ColumnMapping,
        duplicates: DuplicateFinder,
        reader: RecordReader,
        first_record: int,
        records: list[Record],
    ) -> ValidatedBatch:
        errors: list[RowError] = []
        rows: list[ImportRow] = []
        region = self.file.phone_default_region
        for number, record in records:
            if ROW_ERROR in record:
                errors.append(RowError(number, "row", str(record[ROW_ERROR])))
                continue
            outcome = validate_row(number, mapping.apply(record), phone_default_region=region)
            if isinstance(outcome, list):
                errors.extend(outcome)
                continue
            first = duplicates.first_row_of(outcome)
            if first is not None:
                errors.append(RowError(number, "email", f"duplicate: row {first} has this email"))
                continue
            rows.append(outcome)
        return ValidatedBatch(
            first_record=first_record,
            record_count=len(records),
            preview_records=records[: max(PREVIEW_ROWS - first_record, 0)],
            rows=rows,
            errors=errors,
            read_bytes=reader.position(),
        )


async def read_in_thread(batches: BatchReader) -> AsyncGenerator[ValidatedBatch, None]:
    """Each batch read and validated in a worker thread."""
    iterator = iter(batches)
    try:
        while (batch := await asyncio.to_thread(next, iterator, None)) is not None:
            yield batch
    finally:
        # Closes the file, unless the thread is still reading (the import was cancelled
        # meanwhile): then the file closes when the thread is done with it.
        with contextlib.suppress(ValueError):
            iterator.close()
