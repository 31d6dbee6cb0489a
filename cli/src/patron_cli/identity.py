"""`patron identity ...`: deduplicate a file of people locally, or a tenant's customers.

`dedupe` runs the identity matcher in this process on a CSV file and touches no stored
customer. `dedupe-run` asks the running stack's identity service to deduplicate the token's
tenant and follows the run's progress.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from patron_cli.config import StackConfig

# exit code for input the command cannot use (as for click's own usage errors)
BAD_INPUT = 2
RUNS_PATH = "/api/v1/identity/dedupe-runs"
FINISHED = ("succeeded", "failed")

identity_app = typer.Typer(help="Identity resolution: deduplicate people.", no_args_is_help=True)


@identity_app.command("dedupe")
def dedupe(  # noqa: PLR0917 - a command's options are its parameters
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV file with a header"),
    ],
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help='rename a column to a field: --map "E-mail=email" (repeatable); columns '
            "named like a field map themselves; several columns mapped to one field are "
            "joined (street number and street)",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", dir_okay=False, help="clusters CSV (one row per record); stdout"),
    ] = None,
    pairs_out: Annotated[
        Path | None,
        typer.Option(
            "--pairs",
            dir_okay=False,
            help="matched pairs with their per-field explanation (default with --out: "
            "<out>-pairs.csv)",
        ),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id-column", help="column identifying each row (default id, record_id)"),
    ] = None,
    estimate: Annotated[
        bool, typer.Option("--estimate", help="fit the match model to the file (EM)")
    ] = False,
) -> None:
    """Cluster the people of a CSV file (fields: first_name, last_name, email, phone,
    address1, address2, city, state, pincode, country, date_of_birth)."""
    # the matcher's imports are heavy: only this command pays for them
    from patron_identity.domain import file_dedupe  # noqa: PLC0415
    from patron_identity.service.file_dedupe import (  # noqa: PLC0415
        FileDedupeOptions,
        dedupe_file,
    )
    from patron_identity.settings import IdentitySettings  # noqa: PLC0415
    from patron_shared.errors import PatronError  # noqa: PLC0415

    try:
        options = FileDedupeOptions(
            renames=file_dedupe.parse_column_map(column_map or []),
            id_column=id_column,
            estimate=estimate,
        )
        with file.open(newline="", encoding="utf-8-sig") as lines:
            result = dedupe_file(lines, options, rules=IdentitySettings().normalization_rules())
    except PatronError as exc:
        typer.echo(f"error: {file}: {exc.detail}", err=True)
        raise typer.Exit(BAD_INPUT) from None
    except UnicodeDecodeError as exc:
        typer.echo(f"error: {file}: not UTF-8 text ({exc.reason})", err=True)
        raise typer.Exit(BAD_INPUT) from None

    if pairs_out is None and out is not None:
        pairs_out = out.with_name(f"{out.stem}-pairs{out.suffix or '.csv'}")
    with _Output(out) as clusters:
        writer = csv.writer(clusters)
        writer.writerow(file_dedupe.CLUSTER_COLUMNS)
        writer.writerows(file_dedupe.cluster_csv_row(row) for row in result.rows)
    if pairs_out is not None:
        with _Output(pairs_out) as pairs:
            writer = csv.writer(pairs)
            writer.writerow(file_dedupe.PAIR_COLUMNS)
            writer.writerows(file_dedupe.pair_csv_row(pair) for pair in result.pairs)
    summary = result.summary
    typer.echo(
        f"{summary.records:,} records, {summary.clusters:,} clusters "
        f"({summary.clustered_records:,} records), {summary.merges:,} merges, "
        f"{summary.reviews:,} reviews in {summary.seconds:.1f} s",
        err=out is None,
    )
    if summary.ignored_values:
        typer.echo(
            f"  {summary.ignored_values:,} values left out as blank, such as:", err=out is None
        )
        for example in summary.ignored_examples[:5]:
            typer.echo(f"    {example}", err=out is None)
    for label, path in (("clusters", out), ("pairs", pairs_out)):
        if path is not None:
            typer.echo(f"  {label}: {path}", err=out is None)


class _Output:
    """A file to write, or stdout (left open) when no path is given."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._file: TextIO | None = None

    def __enter__(self) -> TextIO:
        if self._path is None:
            return sys.stdout
        self._file = self._path.open("w", newline="", encoding="utf-8")
        return self._file

    def __exit__(self, *exc_info: object) -> None:
        if self._file is not None:
            self._file.close()


def stack_settings(config: StackConfig) -> dict[str, str]:
    """The running stack's `.stack/env`, overridden by the process environment."""
    values: dict[str, str] = {}
    if config.env_file.exists():
        for line in config.env_file.read_text().splitlines():
            key, separator, value = line.partition("=")
            if separator and not key.startswith("#"):
                values[key.strip()] = value.strip()
    for key in ("PATRON_GATEWAY_URL", "PATRON_DEV_TOKEN", "PATRON_TOKEN"):
        if os.environ.get(key):
            values[key] = os.environ[key]
    return values


@identity_app.command("new-secrets-key")
def new_secrets_key() -> None:
    """Print a new key for IDENTITY_CONNECTOR_SECRETS_KEYS (put it first; keep the old ones
    after it until every connector's secret has been written again)."""
    from cryptography.fernet import Fernet  # noqa: PLC0415 - only this command needs it

    typer.echo(Fernet.generate_key().decode())


@identity_app.command("dedupe-run")
def dedupe_run(
    estimate: Annotated[
        bool, typer.Option("--estimate", help="fit and store the tenant's match model first")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="follow the run until it finishes")] = False,
    url: Annotated[
        str | None, typer.Option(help="gateway URL (default PATRON_GATEWAY_URL, .stack/env)")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="bearer token (default PATRON_TOKEN, PATRON_DEV_TOKEN, .stack/env)"),
    ] = None,
    interval: Annotated[float, typer.Option(min=0.2, help="seconds between polls")] = 2.0,
) -> None:
    """Deduplicate the stored customers of the token's tenant on the running stack."""
    import httpx  # noqa: PLC0415 - keeps CLI start-up lean

    settings = stack_settings(StackConfig())
    base_url = url or settings.get("PATRON_GATEWAY_URL") or StackConfig().gateway_url
    bearer = token or settings.get("PATRON_TOKEN") or settings.get("PATRON_DEV_TOKEN")
    if not bearer:
        typer.echo("error: no token: pass --token or set PATRON_TOKEN", err=True)
        raise typer.Exit(BAD_INPUT)
    headers = {"Authorization": f"Bearer {bearer}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        try:
            response = client.post(RUNS_PATH, json={"estimate_model": estimate})
        except httpx.HTTPError as exc:
            typer.echo(f"error: {base_url} does not answer ({exc}); is the stack up?", err=True)
            raise typer.Exit(1) from None
        if response.status_code != 202:
            typer.echo(f"error: {response.status_code} {_problem(response)}", err=True)
            raise typer.Exit(1)
        run = response.json()
        typer.echo(f"dedupe run {run['id']} {run['status']}")
        while wait and run["status"] not in FINISHED:
            time.sleep(interval)
            response = client.get(f"{RUNS_PATH}/{run['id']}")
            response.raise_for_status()
            run = response.json()
            typer.echo(progress_line(run))
    if wait:
        typer.echo(progress_line(run))
        if run["status"] == "failed":
            raise typer.Exit(1)


def progress_line(run: dict[str, Any]) -> str:
    line = (
        f"{run['status']:<9} {run.get('phase') or '':<10} "
        f"customers {run['customers_scanned']:,}/{run['customers_total']:,}  "
        f"pairs {run['pairs_compared']:,}  merges {run['merges']:,}  "
        f"suggestions {run['suggestions']:,}"
    )
    return f"{line}  error: {run['error']}" if run.get("error") else line


def _problem(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.text)[:200]
    return str(body.get("detail") or body.get("title") or body)
