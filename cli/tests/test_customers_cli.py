"""`patron customers import|export`: options parsed before any request is made."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from patron_cli.customers import parse_mapping_options
from patron_cli.main import app


def test_mapping_options_read_as_column_to_field_pairs_or_one_json_object() -> None:
    assert parse_mapping_options(["E-mail=email", "Note=internal=notes", "Skip="]) == {
        "E-mail": "email",
        "Note=internal": "notes",
        "Skip": None,
    }
    assert parse_mapping_options(['{"Courriel": "email"}']) == {"Courriel": "email"}
    with pytest.raises(typer.BadParameter):
        parse_mapping_options(["no separator"])


def test_an_import_of_an_unknown_format_stops_before_calling_the_gateway(tmp_path: Path) -> None:
    file = tmp_path / "people.txt"
    file.write_text("email\na@example.com\n")
    result = CliRunner().invoke(app, ["customers", "import", str(file), "--token", "t"])
    assert result.exit_code == 2
    assert "unknown format" in result.output


def test_both_commands_are_listed() -> None:
    result = CliRunner().invoke(app, ["customers", "--help"])
    assert result.exit_code == 0
    assert "import" in result.output
    assert "export" in result.output
