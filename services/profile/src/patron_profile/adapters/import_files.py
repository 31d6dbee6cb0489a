"""Reading an uploaded customer file one record at a time (never the whole file at once).

Formats by media type: CSV (`text/csv`, header row first, UTF-8 with or without BOM,
delimiter `,` or `;` sniffed from the header), a JSON array of objects
(`application/json`), one object per line (`application/x-ndjson`), and the first sheet of
an Excel workbook (XLSX, header row first). Each record comes with its row number: the
spreadsheet line for CSV and XLSX (the header is row 1), the position for JSON (from 1).
`position()` says how many bytes of the file were read so far (progress).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from patron_shared.errors import InvalidInput

CSV = "text/csv"
JSON = "application/json"
NDJSON = "application/x-ndjson"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {CSV: "csv", JSON: "json", NDJSON: "ndjson", XLSX: "xlsx"}
_CHUNK = 1 << 16
# The largest object a JSON array may hold: beyond it the file is taken as malformed
# rather than read to its end in search of the object's end.
MAX_JSON_OBJECT = 1 << 24

Record = tuple[int, dict[str, Any]]
# The key of a record that could not be read as an object: its value says why.
ROW_ERROR = "\0error"


class FileFormatError(ValueError):
    """The file cannot be read as its format at all (not one bad row: the whole file)."""


def format_of(content_type: str | None) -> str:
    """`csv`, `json`, `ndjson` or `xlsx` from a Content-Type header (parameters ignored)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    aliases = {"application/csv": CSV, "application/jsonl": NDJSON, "application/ndjson": NDJSON}
    media_type = aliases.get(media_type, media_type)
    if media_type not in FORMATS:
        raise InvalidInput(
            "Content-Type",
            f"{media_type or 'none'} is not an import format; one of {', '.join(FORMATS)}",
            location="header",
        )
    return FORMATS[media_type]


@dataclass
class _CountingReader(io.RawIOBase):
    """A binary file that counts what was read from it."""

    raw: IO[bytes]
    read_bytes: int = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.read_bytes += len(data)
        return len(data)


class RecordReader:
    """The records of one stored file; iterate once."""

    def __init__(self, path: Path, file_format: str) -> None:
        self.path = path
        self.format = file_format
        self._file = path.open("rb")
        self._counter = _CountingReader(self._file)

    def position(self) -> int:
        return self._counter.read_bytes

    def close(self) -> None:
        self._file.close()

    def __iter__(self) -> Iterator[Record]:
        if self.format == "csv":
            return _csv_records(self._text())
        if self.format == "ndjson":
            return _ndjson_records(self._text())
        if self.format == "json":
            return _json_array_records(self._text())
        return _xlsx_records(self._file, self.path, self._counter)

    def _text(self) -> io.TextIOWrapper:
        buffered = io.BufferedReader(self._counter, buffer_size=_CHUNK)
        return io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")


def _csv_records(text: io.TextIOWrapper) -> Iterator[Record]:
    try:
        header_line = text.readline()
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        header = next(csv.reader([header_line], delimiter=delimiter), None)
        if not header or not any(name.strip() for name in header):
            raise FileFormatError("the CSV file has no header row")
        names = [name.strip() for name in header]
        reader = csv.reader(text, delimiter=delimiter)
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank line
            yield reader.line_num + 1, dict(zip(names, record, strict=False))
    except UnicodeDecodeError as error:
        raise FileFormatError(f"the file is not UTF-8 text: {error.reason}") from None
    except csv.Error as error:
        raise FileFormatError(f"the CSV file cannot be read: {error}") from None


def _ndjson_records(text: io.TextIOWrapper) -> Iterator[Record]:
    try:
        for number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            yield number, _object(line, number)
    except UnicodeDecodeError as error:
        raise FileFormatError(f"the file is not UTF-8 text: {error.reason}") from None


def _object(line: str, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        return {ROW_ERROR: f"not JSON: {error.msg}"}
    if not isinstance(value, dict):
        return {ROW_ERROR: "not a JSON object"}
    return value


def _json_array_records(text: io.TextIOWrapper) -> Iterator[Record]:
    """The objects of a top-level JSON array, decoded one by one from a sliding buffer."""
    decoder = json.JSONDecoder()
    buffer = ""
    position = 0
    started = False
    number = 0
    eof = False

    def fill() -> bool:
        nonlocal buffer, position
        if len(buffer) - position > MAX_JSON_OBJECT:
            raise FileFormatError(
                f"the JSON file is not valid, or holds an object larger than "
                f"{MAX_JSON_OBJECT} characters"
            )
        chunk = text.read(_CHUNK)
        buffer = buffer[position:] + chunk
        position = 0
        return bool(chunk)

    try:
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n,":
                if buffer[position] == "," and not started:
                    raise FileFormatError("the JSON file is not an array of objects")
                position += 1
            if position >= len(buffer):
                if eof or not fill():
                    raise FileFormatError("the JSON array is not closed")
                continue
            char = buffer[position]
            if not started:
                if char != "[":
                    raise FileFormatError("the JSON file is not an array of objects")
                started = True
                position += 1
                continue
            if char == "]":
                return
            try:
                value, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError as error:
                if fill():
                    continue
                eof = True
                raise FileFormatError(f"the JSON file is not valid: {error.msg}") from None
            if end >= len(buffer) and not isinstance(value, dict | list | str) and fill():
                continue  # a number may go on in the next chunk
            number += 1
            position = end
            yield number, value if isinstance(value, dict) else {ROW_ERROR: "not a JSON object"}
    except UnicodeDecodeError as error:
        raise FileFormatError(f"the file is not UTF-8 text: {error.reason}") from None


def _xlsx_records(file: IO[bytes], path: Path, counter: _CountingReader) -> Iterator[Record]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # noqa: PLC0415
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        # the open file, not its path: openpyxl judges a path by its extension
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as error:
        raise FileFormatError(f"the file is not an XLSX workbook: {error}") from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header or not any(cell is not None for cell in header):
            raise FileFormatError("the first sheet has no header row")
        names = ["" if cell is None else str(cell).strip() for cell in header]
        for number, cells in enumerate(rows, start=2):
            if all(cell is None or str(cell).strip() == "" for cell in cells):
                continue
            yield (
                number,
                {name: _cell(value) for name, value in zip(names, cells, strict=False) if name},
            )
        counter.read_bytes = path.stat().st_size  # a workbook is unzipped, not read in order
    finally:
        workbook.close()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed as a number
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value
