"""`patron customers import|export`: customer files in and out of the running stack.

Both talk to the gateway (`PATRON_GATEWAY_URL`, with `PATRON_TOKEN` or `PATRON_DEV_TOKEN`;
`.stack/env` by default) and show their progress on stderr, so an export can go to stdout:
`patron customers export --format csv > customers.csv`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from patron_cli.config import StackConfig
from patron_cli.identity import BAD_INPUT, stack_settings

IMPORTS_PATH = "/api/v1/imports"
EXPORT_PATH = "/api/v1/customers/export"
CONTENT_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "jsonl": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_CHUNK = 1 << 16

customers_app = typer.Typer(help="Customers: import and export files.", no_args_is_help=True)
UrlOption = Annotated[
    str | None, typer.Option(help="gateway URL (default PATRON_GATEWAY_URL, .stack/env)")
]
TokenOption = Annotated[
    str | None,
    typer.Option(help="bearer token (default PATRON_TOKEN, PATRON_DEV_TOKEN, .stack/env)"),
]


@customers_app.command("import")
def import_customers(  # noqa: PLR0917 - a command's options are its parameters
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="CSV, JSON, NDJSON or XLSX file"
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate and preview; write no customer")
    ] = False,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--mapping",
            help='file column to field: --mapping "E-mail=email" (repeatable; "Column=" '
            "ignores a column), or one JSON object",
        ),
    ] = None,
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv, json, ndjson or xlsx (default: the extension)"),
    ] = None,
    errors_out: Annotated[
        Path | None,
        typer.Option("--errors", dir_okay=False, help="write the error report (CSV) here"),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between polls")] = 0.5,
) -> None:
    """Upload a customer file, follow the import job, print its counts."""
    import httpx  # noqa: PLC0415 - keeps CLI start-up lean

    kind = (file_format or file.suffix.lstrip(".")).lower()
    if kind not in CONTENT_TYPES:
        typer.echo(f"error: unknown format {kind!r}; use --format", err=True)
        raise typer.Exit(BAD_INPUT)
    params: dict[str, str] = {"file_name": file.name}
    if dry_run:
        params["dry_run"] = "true"
    if mapping:
        params["mapping"] = json.dumps(parse_mapping_options(mapping))
    console = Console(stderr=True)
    size = file.stat().st_size
    with _client(url, token) as client, _progress(console) as progress:
        upload = progress.add_task("upload", total=size)
        with file.open("rb") as body:
            response = _call(
                client.post,
                IMPORTS_PATH,
                params=params,
                content=_chunks(body, lambda n: progress.advance(upload, n)),
                headers={"Content-Type": CONTENT_TYPES[kind]},
                timeout=httpx.Timeout(30, read=600),
            )
        if response.status_code != 202:
            _fail(response)
        job = response.json()
        total = max(int(job["file_bytes"]), 1)
        task = progress.add_task("import", total=total)
        while job["status"] not in ("completed", "failed"):
            time.sleep(interval)
            job = _call(client.get, f"{IMPORTS_PATH}/{job['id']}").json()
            progress.update(task, completed=job["progress"] * total, description=_counts(job))
        progress.update(task, completed=total, description=_counts(job))
        if errors_out is not None and job["counts"]["errors"]:
            report = _call(client.get, f"{IMPORTS_PATH}/{job['id']}/errors?format=csv")
            errors_out.write_bytes(report.content)
    typer.echo(
        f"import {job['id']} {job['status']}{' (dry run)' if job['dry_run'] else ''}: "
        + _counts(job)
    )
    if job["counts"]["errors"]:
        typer.echo(f"error report: {job['errors_url']}?format=csv", err=True)
    if job["status"] == "failed":
        typer.echo(f"error: {job['failure']}", err=True)
        raise typer.Exit(1)


@customers_app.command("export")
def export_customers(  # noqa: PLR0917 - a command's options are its parameters
    file_format: Annotated[str, typer.Option("--format", help="csv, json or xlsx")] = "csv",
    ids: Annotated[str | None, typer.Option("--ids", help="comma-separated customer ids")] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help='a filter of GET /api/v1/customers: --filter "tags=vip" (repeatable)',
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="file to write (default stdout)")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Stream customers to a file or stdout: `patron customers export --format csv > c.csv`."""
    import httpx  # noqa: PLC0415

    params: dict[str, str] = {"format": file_format}
    if ids:
        params["ids"] = ids
    for item in filters or []:
        name, separator, value = item.partition("=")
        if not separator:
            typer.echo(f"error: --filter {item!r} is not name=value", err=True)
            raise typer.Exit(BAD_INPUT)
        params[name.strip()] = value
    console = Console(stderr=True)
    target: IO[bytes] = out.open("wb") if out is not None else sys.stdout.buffer
    try:
        with _client(url, token) as client, _progress(console) as progress:
            task = progress.add_task("export", total=None)
            try:
                with client.stream(
                    "GET", EXPORT_PATH, params=params, timeout=httpx.Timeout(30, read=600)
                ) as response:
                    if response.status_code != 200:
                        response.read()
                        _fail(response)
                    for chunk in response.iter_bytes(_CHUNK):
                        target.write(chunk)
                        progress.advance(task, len(chunk))
            except httpx.HTTPError as exc:
                typer.echo(
                    f"error: the gateway does not answer ({exc}); is the stack up?", err=True
                )
                raise typer.Exit(1) from None
    finally:
        if out is not None:
            target.close()
        else:
            target.flush()


def parse_mapping_options(options: list[str]) -> dict[str, str | None]:
    """`["E-mail=email", "Internal="]` (or one JSON object) as the API's mapping."""
    if len(options) == 1 and options[0].lstrip().startswith("{"):
        value = json.loads(options[0])
        if not isinstance(value, dict):
            raise typer.BadParameter("--mapping: a JSON object")
        return value
    mapping: dict[str, str | None] = {}
    for option in options:
        column, separator, target = option.rpartition("=")
        if not separator or not column:
            raise typer.BadParameter(f"--mapping {option!r} is not Column=field")
        mapping[column] = target.strip() or None
    return mapping


def _client(url: str | None, token: str | None) -> Any:
    import httpx  # noqa: PLC0415

    settings = stack_settings(StackConfig())
    base_url = url or settings.get("PATRON_GATEWAY_URL") or StackConfig().gateway_url
    bearer = token or settings.get("PATRON_TOKEN") or settings.get("PATRON_DEV_TOKEN")
    if not bearer:
        typer.echo("error: no token: pass --token or set PATRON_TOKEN", err=True)
        raise typer.Exit(BAD_INPUT)
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30
    )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _chunks(file: IO[bytes], advance: Any) -> Iterator[bytes]:
    while chunk := file.read(_CHUNK):
        advance(len(chunk))
        yield chunk


def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
    import httpx  # noqa: PLC0415

    try:
        return method(*args, **kwargs)
    except httpx.HTTPError as exc:
        typer.echo(f"error: the gateway does not answer ({exc}); is the stack up?", err=True)
        raise typer.Exit(1) from None


def _counts(job: dict[str, Any]) -> str:
    c = job["counts"]
    return (
        f"rows {c['rows']:,}  created {c['created']:,}  updated {c['updated']:,}  "
        f"unchanged {c['unchanged']:,}  errors {c['errors']:,}"
    )


def _fail(response: Any) -> None:
    try:
        body = response.json()
        detail = body.get("detail") or body.get("title") or body
    except ValueError:
        detail = str(response.text)[:200]
    typer.echo(f"error: {response.status_code} {detail}", err=True)
    raise typer.Exit(1)
