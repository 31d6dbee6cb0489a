"""`patron identity dedupe`: a generated, labelled file of people, clustered locally."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from patron_cli.main import app
from patron_identity.settings import IdentitySettings

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

identity_data: Any = pytest.importorskip("identity_data")
runner = CliRunner()


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    records = identity_data.generate(150, 11)
    path = tmp_path_factory.mktemp("people") / "people.csv"
    identity_data.write_csv(records, path)
    return path, records


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as rows:
        return list(csv.DictReader(rows))


def pairs_within(groups: Counter[tuple[str, str]]) -> int:
    return sum(n * (n - 1) // 2 for n in groups.values())


def test_dedupe_clusters_a_labelled_file_close_to_its_labels(
    people: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    path, records = people
    out = tmp_path / "clusters.csv"

    result = runner.invoke(
        app, ["identity", "dedupe", str(path), "--id-column", "record_id", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert f"{len(records):,} records" in result.output
    rows = read_rows(out)
    assert [row["id"] for row in rows] == [r.record_id for r in records]
    person = {r.record_id: r.person_id for r in records}
    cluster = {row["id"]: row["cluster_id"] for row in rows}
    # pairwise: same cluster against same person
    predicted = pairs_within(Counter((c, c) for c in cluster.values()))
    true_positives = pairs_within(Counter((cluster[i], person[i]) for i in cluster))
    truth = pairs_within(Counter((p, p) for p in person.values()))
    assert predicted > 0
    assert true_positives / predicted >= 0.9
    assert true_positives / truth >= 0.6
    pairs = read_rows(tmp_path / "clusters-pairs.csv")
    assert pairs
    assert {pair["decision"] for pair in pairs} <= {"merge", "review"}
    assert all("email=" in pair["explanation"] for pair in pairs)


def test_dedupe_maps_renamed_columns_and_prints_to_stdout(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Customer,E-mail,Vorname,Nachname\n"
        "1,ann.lee@example.com,Ann,Lee\n"
        "2,ANN.LEE@example.com,Ann,Lee\n"
        "3,zed@example.com,Zed,Marsh\n"
    )

    result = runner.invoke(
        app,
        [
            "identity",
            "dedupe",
            str(path),
            "--id-column",
            "Customer",
            "--map",
            "E-mail=email",
            "--map",
            "Vorname=first_name",
            "--map",
            "Nachname=last_name",
        ],
    )

    assert result.exit_code == 0, result.output
    clusters = {row["id"]: row["cluster_id"] for row in csv.DictReader(result.stdout.splitlines())}
    assert clusters == {"1": "1", "2": "1", "3": "3"}


@pytest.mark.parametrize(
    ("content", "arguments", "expected"),
    [
        ("id,email\n1,a@example.com\n", ["--map", "email=e_mail"], "unknown field 'e_mail'"),
        ("name,email\nAnn,a@example.com\n", [], "no id column"),
        ("id,email\n1,a@example.com\n1,b@example.com\n", [], "line 3: id '1' repeats line 2"),
        ("id,date_of_birth\n1,31/01/1990\n", [], "line 2: date of birth '31/01/1990'"),
    ],
)
def test_dedupe_refuses_bad_input_with_exit_code_2_and_says_where(
    tmp_path: Path, content: str, arguments: list[str], expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)

    result = runner.invoke(app, ["identity", "dedupe", str(path), *arguments])

    assert result.exit_code == 2
    assert expected in result.output


def test_a_new_secrets_key_is_a_key_the_identity_settings_accept() -> None:
    result = runner.invoke(app, ["identity", "new-secrets-key"])

    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    settings = IdentitySettings(IDENTITY_CONNECTOR_SECRETS_KEYS=key)
    assert settings.secret_box.open(settings.secret_box.seal("s3cret")) == "s3cret"
    assert runner.invoke(app, ["identity", "new-secrets-key"]).stdout.strip() != key
