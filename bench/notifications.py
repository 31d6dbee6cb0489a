"""Notifications benchmark: emails sent per second by the delivery workers, end to end.

Shared setup (every scenario):
1. The local infrastructure (started with `patron stack up --infra` when PostgreSQL does not
   answer), a fresh notifications database (the service's own migrations), a tenant of the
   run's own, and an SMTP/SMS sink of the run's own (`patron_cli.sinks` on free ports), so
   that the sink holds this run's messages only.
2. `--service-processes` notifications services as in production (uvicorn, one worker each,
   its delivery worker beside it), their SMTP client pointed at the run's sink and their
   customer consumer on a topic nobody writes; `--service-env KEY=VALUE` overrides.

Scenario `throughput`:
3. `--messages` email deliveries to distinct customers (subject, text and ~2 KB of HTML
   filled in, a List-Unsubscribe header; nothing rendered) COPYed into the queue in batches
   of `--batch` rows, each batch committed on its own, while the services are running.
4. The figure: emails per second at the sink, from the first message it received to the last
   (its received times); also the time until every delivery row is `sent`, the latency
   from a batch's commit to the sink (a queue of N messages: mostly the wait in line), the
   pauses of 50 ms or more in the flow at the sink (a worker between rounds: recording the
   last, claiming the next) and the cores used by the services, the sink, PostgreSQL and the
   rest of the machine ("other": what else runs on it, which the figures depend on).
5. Checks: the sink received exactly N messages, each Message-ID (`<delivery id@...>`) once
   and each recipient once; every row is `sent` after one attempt; the outbox holds one
   NotificationSent per delivery of the tenant.
6. Prints the figures and writes JSON to bench/results/notifications-<UTC time>.json and
   notifications-latest.json; the database, the topic and the processes are removed. Exits
   1 when the target (>= 200 emails/s) is missed or a check fails.

Scenario `campaign`:
7. `--campaign-customers` contacts (default 100,000) in one segment, COPYed as the customer
   and segment consumers would have projected them, `--campaign-no-consent-share` of them
   (default 0.2) without email marketing consent; then `POST /api/v1/campaigns` (the
   built-in `flash_sale` template to that segment, `send_now`) and the campaign's live
   counts polled until it is `completed`.
8. Checks: the counts are exact (audience, sent = the opted-in, skipped no_marketing_consent
   = the others, nothing failed or left), the sink received one message per opted-in
   customer and none twice, every row was sent on its first attempt. Figures: when the
   audience was queued, when the campaign completed, emails/s at the sink, cores.

    uv run --frozen python bench/notifications.py [--scenario throughput|campaign]
        [--messages N] [--campaign-customers N] [--service-processes P]

A scenario is an async function of the `Bench` (arguments included) returning its figures and
verdicts; add one to SCENARIOS and it runs on the same setup (`--scenario NAME` picks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench.*` importable
    sys.path.insert(0, str(ROOT))

from bench.cpu import cpu_used, process_cpu  # noqa: E402
from bench.latency_figures import summarize  # noqa: E402
from patron_notifications.domain.delivery import idempotency_key  # noqa: E402
from patron_notifications.service.sending import message_id_of  # noqa: E402
from patron_shared.testing import (  # noqa: E402
    ChildProcess,
    bearer_headers,
    create_service_database,
    create_topics,
    delete_topics,
    drop_database,
    free_port,
    read_stack_env,
    resolve_database_url,
    resolve_kafka_bootstrap,
    serve_on_topics,
    unique_tenant,
)
from patron_shared.testing.processes import HOST  # noqa: E402

NAME = "notifications"
SERVICE = ROOT / "services" / "notifications"
RESULTS = ROOT / "bench" / "results"
TARGET_EMAILS_PER_S = 200.0
STALL_S = 0.05  # a pause this long between two messages at the sink counts as a stall

# ----------------------------------------------------------------------------- processes


def http_json(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=30) as response:
        return json.loads(response.read())


@dataclass
class Sink:
    """The run's own SMTP + SMS sink (`patron_cli.sinks`), a process of its own."""

    smtp_port: int
    http_port: int
    sms_port: int
    process: ChildProcess

    @classmethod
    async def start(cls, logs: Path) -> Sink:
        smtp, http, sms = free_port(), free_port(), free_port()
        process = ChildProcess(
            "sink",
            [
                sys.executable,
                "-m",
                "patron_cli.sinks",
                f"--smtp-port={smtp}",
                f"--mail-http-port={http}",
                f"--sms-port={sms}",
            ],
            dict(os.environ),
            logs,
        )
        await process.wait_ready(http, path="/messages/count")
        return cls(smtp, http, sms, process)

    async def count(self) -> dict[str, Any]:
        counted: dict[str, Any] = await asyncio.to_thread(
            http_json, self.http_port, "/messages/count"
        )
        return counted

    async def index(self, page: int = 20_000) -> list[dict[str, Any]]:
        """Message-ID, recipients and received time of every captured email, in order."""
        found: list[dict[str, Any]] = []
        while True:
            rows = await asyncio.to_thread(
                http_json, self.http_port, f"/messages/index?offset={len(found)}&limit={page}"
            )
            found.extend(rows)
            if len(rows) < page:
                return found

    def stop(self) -> None:
        self.process.stop()


@dataclass
class Bench:
    """What every scenario shares: the database, the sink, the services and their CPU."""

    args: argparse.Namespace
    owner_dsn: str
    app_url: str
    bootstrap: str
    quiet_topic: str
    logs: Path
    sink: Sink
    services: list[ChildProcess] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    async def start_services(self, count: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PATRON_")} | {
            "PATRON_DATABASE_URL": self.app_url,
            "PATRON_KAFKA_BOOTSTRAP": self.bootstrap,
            "PATRON_CONSUMER_GROUP_PREFIX": f"bench-notifications-{uuid.uuid4().hex[:8]}-",
            "PATRON_CONSUMER_OFFSET_RESET": "latest",
            "PATRON_LOG_LEVEL": "WARNING",
            "PATRON_SMTP_HOST": HOST,
            "PATRON_SMTP_PORT": str(self.sink.smtp_port),
            "PATRON_SMS_API_URL": f"http://{HOST}:{self.sink.sms_port}",
        }
        env |= dict(item.split("=", 1) for item in self.args.service_env)
        ports = [free_port() for _ in range(count)]
        self.ports = ports
        for n, port in enumerate(ports):
            command = [
                sys.executable,
                __file__,
                "--serve",
                f"--port={port}",
                f"--quiet-topic={self.quiet_topic}",
            ]
            self.services.append(ChildProcess(f"service-{n}", command, env, self.logs))
        for service, port in zip(self.services, ports, strict=True):
            await service.wait_ready(port)

    def check(self) -> None:
        for process in [*self.services, self.sink.process]:
            process.check()

    def roles(self) -> dict[int, str]:
        roles = {self.sink.process.pid: "sink", os.getpid(): "bench"}
        for service in self.services:
            for pid in _group_of(service.pid):
                roles[pid] = "services"
        return roles

    def stop_services(self) -> None:
        for service in self.services:
            service.stop()
        self.services.clear()
        self.ports = []


def _group_of(pid: int) -> list[int]:
    """The process and its children (the service is one process; kept general)."""
    found = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        found += [int(child) for child in children]
    return found


# ----------------------------------------------------------------------------- scenarios

HTML_FILLER = "".join(
    f"<tr><td style='padding:8px;font-family:Arial,sans-serif'>Offer {n}: "
    f"save on what you bought last season, while stocks last.</td></tr>\n"
    for n in range(14)
)


def build_rows(
    tenant: str, cause: str, messages: int, created_at: datetime
) -> list[tuple[Any, ...]]:
    """One email delivery per customer, in the queue's column order (COLUMNS)."""
    rows: list[tuple[Any, ...]] = []
    for n in range(messages):
        customer = uuid.uuid4()
        delivery = uuid.uuid4()
        recipient = f"customer-{n}-{customer.hex[:8]}@bench.example"
        html = (
            f"<html><body><h1>Hello customer {n}</h1><table>\n{HTML_FILLER}</table>"
            f"<p><a href='https://patron.example/u/{customer}'>Unsubscribe</a></p></body></html>"
        )
        text = f"Hello customer {n}. Our season's offers are here.\nUnsubscribe: https://patron.example/u/{customer}"
        headers = {
            "List-Unsubscribe": f"<https://patron.example/u/{customer}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        rows.append(
            (
                delivery,
                tenant,
                customer,
                "email",
                "marketing",
                "bench-newsletter",
                idempotency_key(cause, "bench-newsletter", customer, "email"),
                cause,
                recipient,
                f"Our season's offers, customer {n}",
                text,
                html,
                json.dumps(headers),
                "queued",
                created_at,
            )
        )
    return rows


COLUMNS = (
    "delivery_id",
    "tenant_id",
    "customer_id",
    "channel",
    "category",
    "template_key",
    "idempotency_key",
    "cause",
    "recipient",
    "subject",
    "text_body",
    "html_body",
    "headers",
    "status",
    "created_at",
)


async def queue_in_batches(
    connection: asyncpg.Connection, rows: list[tuple[Any, ...]], batch: int
) -> dict[uuid.UUID, float]:
    """COPY the rows into the queue, `batch` at a time, each batch its own transaction;
    returns each delivery's commit time (when it became due to a worker)."""
    committed: dict[uuid.UUID, float] = {}
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        async with connection.transaction():
            await connection.copy_records_to_table("deliveries", records=chunk, columns=COLUMNS)
        at = time.time()
        committed.update((row[0], at) for row in chunk)
    return committed


async def throughput(bench: Bench) -> dict[str, Any]:
    """N emails queued at once, sent by the services' workers: emails/s at the sink."""
    args = bench.args
    tenant = unique_tenant("bench-notifications")
    cause = f"bench-{uuid.uuid4()}"
    rows = build_rows(tenant, cause, args.messages, datetime.now(UTC))
    html_bytes = sum(len(row[11]) for row in rows) / max(len(rows), 1)
    connection = await asyncpg.connect(bench.owner_dsn)
    try:
        await bench.start_services(args.service_processes)
        cpu_before, began = process_cpu(), time.perf_counter()
        queued_at = time.time()
        committed = await queue_in_batches(connection, rows, args.batch)
        queue_s = time.time() - queued_at
        print(f"queued {len(rows):,} emails in {queue_s:.1f} s", flush=True)
        all_sent_at: float | None = None
        deadline = time.perf_counter() + (args.timeout or max(240.0, args.messages / 100))
        sent = 0
        while time.perf_counter() < deadline:
            bench.check()
            sent = await connection.fetchval(
                "SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND status = 'sent'", tenant
            )
            if sent >= len(rows):
                all_sent_at = time.time()
                break
            await asyncio.sleep(0.2)
        wall = time.perf_counter() - began
        cpu = cpu_used(cpu_before, wall, bench.roles())
        await asyncio.sleep(1.0)  # anything sent twice would arrive now
        counted = await bench.sink.count()
        index = await bench.sink.index()
        statuses = {
            (row["status"], row["attempts"]): row["n"]
            for row in await connection.fetch(
                "SELECT status, attempts, count(*) AS n FROM deliveries WHERE tenant_id = $1 "
                "GROUP BY 1, 2",
                tenant,
            )
        }
        events = await connection.fetchrow(
            "SELECT count(*) AS n, "
            "count(DISTINCT payload->'data'->>'notification_id') AS distinct_ids "
            "FROM outbox WHERE tenant_id = $1 AND message_type = 'NotificationSent'",
            tenant,
        )
    finally:
        bench.stop_services()
        await connection.close()
    return figures_of_throughput(rows, committed, index, counted, statuses, events) | {
        "service_processes": args.service_processes,
        "html_bytes_per_email": round(html_bytes),
        "queue_s": round(queue_s, 2),
        "all_sent_after_s": round(all_sent_at - queued_at, 2) if all_sent_at else None,
        "rows_sent_when_stopped": sent,
        "cores": cpu,
        "service_env": list(args.service_env),
    }


def figures_of_throughput(  # noqa: PLR0917 - the run's parts
    rows: list[tuple[Any, ...]],
    committed: dict[uuid.UUID, float],
    index: list[dict[str, Any]],
    counted: dict[str, Any],
    statuses: dict[tuple[str, int], int],
    events: asyncpg.Record,
) -> dict[str, Any]:
    expected_ids = {message_id_of(row[0]): row[0] for row in rows}
    expected_recipients = {row[8] for row in rows}
    by_id = Counter(entry["message_id"] for entry in index)
    by_recipient = Counter(r for entry in index for r in entry["recipients"])
    received = [datetime.fromisoformat(entry["received_at"]).timestamp() for entry in index]
    span = max(received) - min(received) if received else 0.0
    # pauses in the flow (between a worker's rounds: claiming, recording), as the sink saw it
    ordered = sorted(received)
    gaps = [b - a for a, b in pairwise(ordered) if b - a >= STALL_S]
    latencies = [
        at - committed[expected_ids[entry["message_id"]]]
        for entry, at in zip(index, received, strict=True)
        if entry["message_id"] in expected_ids
    ]
    messages = len(rows)
    checks = {
        "sink_received_n": counted["count"] == len(index) == messages,
        "each_message_id_once": set(by_id) == set(expected_ids)
        and max(by_id.values(), default=0) == 1,
        "each_recipient_once": set(by_recipient) == expected_recipients
        and max(by_recipient.values(), default=0) == 1,
        "all_sent_first_attempt": statuses.get(("sent", 1), 0) == messages
        and sum(statuses.values()) == messages,
        "one_notification_sent_each": events["n"] == events["distinct_ids"] == messages,
    }
    rate = (len(received) - 1) / span if span > 0 else 0.0
    return {
        "messages": messages,
        "received": len(index),
        "sink_span_s": round(span, 2),
        "emails_per_s": round(rate, 1),
        "queue_to_sink": summarize(latencies),
        "stalls": {"count": len(gaps), "seconds": round(sum(gaps), 2), "at_least_s": STALL_S},
        "duplicate_message_ids": sum(n - 1 for n in by_id.values() if n > 1),
        "statuses": {f"{status}/{attempts}": n for (status, attempts), n in statuses.items()},
        "notification_sent_events": events["n"],
        "checks": checks,
        "verdicts": {"emails_per_s": rate >= TARGET_EMAILS_PER_S, "correct": all(checks.values())},
    }


CAMPAIGN_SEGMENT = "bench-campaign"
SALE = {
    "name": "Bench Winter Sale",
    "discount": "30%",
    "code": "BENCH30",
    "ends_at": "2026-12-31T23:59:00Z",
    "url": "https://shop.example.com/sale",
}


async def seed_audience(
    connection: asyncpg.Connection, tenant: str, customers: int, no_consent_share: float
) -> tuple[dict[str, uuid.UUID], set[uuid.UUID]]:
    """`customers` contacts in one segment (COPY: what the customer and segment consumers
    would have projected), a share of them without email marketing consent. Returns the
    opted-in customers by email address, and the others."""
    now = datetime.now(UTC)
    opted_in: dict[str, uuid.UUID] = {}
    refused: set[uuid.UUID] = set()
    contacts: list[tuple[Any, ...]] = []
    members: list[tuple[Any, ...]] = []
    every = round(1 / no_consent_share) if no_consent_share > 0 else 0
    for n in range(customers):
        customer = uuid.uuid4()
        email = f"campaign-{n}-{customer.hex[:8]}@campaign.bench.example"
        consents = not (every and n % every == 0)
        if consents:
            opted_in[email] = customer
        else:
            refused.add(customer)
        contacts.append((tenant, customer, email, f"Customer{n}", consents, now))
        members.append((tenant, CAMPAIGN_SEGMENT, customer, True, now))
    async with connection.transaction():
        await connection.copy_records_to_table(
            "contacts",
            records=contacts,
            columns=(
                "tenant_id",
                "customer_id",
                "email",
                "first_name",
                "accepts_marketing",
                "source_updated_at",
            ),
        )
        await connection.copy_records_to_table(
            "segment_members",
            records=members,
            columns=("tenant_id", "segment_key", "customer_id", "member", "changed_at"),
        )
    return opted_in, refused


async def campaign(bench: Bench) -> dict[str, Any]:
    """A campaign to a segment of `--campaign-customers` through the API: it ends with
    exact counts, and the sink received one message per opted-in customer, none twice."""
    args = bench.args
    tenant = unique_tenant("bench-campaign")
    connection = await asyncpg.connect(bench.owner_dsn)
    try:
        seeding = time.perf_counter()
        opted_in, refused = await seed_audience(
            connection, tenant, args.campaign_customers, args.campaign_no_consent_share
        )
        seed_s = time.perf_counter() - seeding
        print(f"seeded {args.campaign_customers:,} contacts in {seed_s:.1f} s", flush=True)
        await bench.start_services(args.service_processes)
        headers = bearer_headers(tenant, "admin")
        base = f"http://{HOST}:{bench.ports[0]}"
        cpu_before, began = process_cpu(), time.perf_counter()
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as api:
            created = await api.post(
                "/api/v1/campaigns",
                json={
                    "name": "Bench winter sale",
                    "template": "flash_sale",
                    "channel": "email",
                    "segment_id": CAMPAIGN_SEGMENT,
                    "send_now": True,
                    "variables": {"sale": SALE},
                },
            )
            created.raise_for_status()
            campaign_id = created.json()["id"]
            queued_after: float | None = None
            view: dict[str, Any] = created.json()
            deadline = time.perf_counter() + (
                args.timeout or max(600.0, args.campaign_customers / 100)
            )
            while time.perf_counter() < deadline:
                bench.check()
                view = (await api.get(f"/api/v1/campaigns/{campaign_id}")).json()
                if queued_after is None and view["status"] in ("sent", "completed"):
                    queued_after = time.perf_counter() - began
                    print(f"audience queued after {queued_after:.1f} s", flush=True)
                if view["status"] == "completed":
                    break
                await asyncio.sleep(0.5)
        wall = time.perf_counter() - began
        cpu = cpu_used(cpu_before, wall, bench.roles())
        await asyncio.sleep(1.0)  # anything sent twice would arrive now
        index = [
            entry
            for entry in await bench.sink.index()
            if any(r.endswith("@campaign.bench.example") for r in entry["recipients"])
        ]
        statuses = {
            (row["status"], row["attempts"], row["skipped_reason"]): row["n"]
            for row in await connection.fetch(
                "SELECT status, attempts, skipped_reason, count(*) AS n FROM deliveries "
                "WHERE tenant_id = $1 GROUP BY 1, 2, 3",
                tenant,
            )
        }
    finally:
        bench.stop_services()
        await connection.close()
    return figures_of_campaign(view, index, opted_in, refused, statuses) | {
        "service_processes": args.service_processes,
        "seed_s": round(seed_s, 2),
        "audience_queued_after_s": round(queued_after, 2) if queued_after else None,
        "completed_after_s": round(wall, 2),
        "cores": cpu,
    }


def figures_of_campaign(
    view: dict[str, Any],
    index: list[dict[str, Any]],
    opted_in: dict[str, uuid.UUID],
    refused: set[uuid.UUID],
    statuses: dict[tuple[str, int, str | None], int],
) -> dict[str, Any]:
    counts = view["counts"]
    customers = len(opted_in) + len(refused)
    by_recipient = Counter(r for entry in index for r in entry["recipients"])
    by_id = Counter(entry["message_id"] for entry in index)
    received = sorted(datetime.fromisoformat(e["received_at"]).timestamp() for e in index)
    span = received[-1] - received[0] if len(received) > 1 else 0.0
    rate = (len(received) - 1) / span if span > 0 else 0.0
    checks = {
        "completed": view["status"] == "completed",
        "audience_exact": counts["audience"] == customers,
        "sent_exact": counts["sent"] == len(opted_in),
        "skipped_no_consent_exact": counts["skipped_by_reason"].get("no_marketing_consent", 0)
        == len(refused),
        "nothing_else": counts["failed"] == 0
        and counts["skipped"] == len(refused)
        and counts["queued"] == counts["sending"] == 0,
        "sink_has_each_opted_in_once": set(by_recipient) == set(opted_in)
        and max(by_recipient.values(), default=0) == 1,
        "no_message_id_twice": max(by_id.values(), default=0) == 1,
        "rows_sent_first_attempt": statuses.get(("sent", 1, None), 0) == len(opted_in),
    }
    return {
        "customers": customers,
        "opted_in": len(opted_in),
        "no_consent": len(refused),
        "campaign": {"status": view["status"], "counts": counts},
        "received": len(index),
        "emails_per_s": round(rate, 1),
        "statuses": {f"{s}/{a}/{r or '-'}": n for (s, a, r), n in statuses.items()},
        "checks": checks,
        "verdicts": {"correct": all(checks.values())},
    }


Scenario = Callable[[Bench], Awaitable[dict[str, Any]]]
SCENARIOS: dict[str, Scenario] = {"throughput": throughput, "campaign": campaign}


# ----------------------------------------------------------------------------- setup


def ensure_infrastructure() -> None:
    """PostgreSQL and Kafka of the local stack, started (infrastructure only) if need be."""
    if os.environ.get("PATRON_TEST_DATABASE_URL") or _postgres_answers():
        return
    print("starting the local infrastructure (patron stack up --infra)", flush=True)
    subprocess.run(
        ["uv", "run", "--frozen", "patron", "stack", "up", "--infra"],  # noqa: S607 - uv from PATH
        cwd=ROOT,
        check=True,
    )


def _postgres_answers() -> bool:
    dsn = read_stack_env().get("PATRON_PG_DSN")
    if not dsn:
        return False

    async def ping() -> bool:
        try:
            connection = await asyncpg.connect(dsn, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True

    return asyncio.run(ping())


async def run(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    superuser = resolve_database_url()
    bootstrap = resolve_kafka_bootstrap()
    database = await asyncio.to_thread(
        create_service_database, SERVICE, superuser, "bench_notifications"
    )
    quiet = f"patron.bench.notifications.quiet.{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, {quiet: 1})
    results: dict[str, Any] = {}
    try:
        owner_dsn = database.owner_url.replace("postgresql+asyncpg://", "postgresql://")
        with tempfile.TemporaryDirectory(prefix="notifications-bench-") as logs:
            sink = await Sink.start(Path(logs))
            bench = Bench(args, owner_dsn, database.app_url, bootstrap, quiet, Path(logs), sink)
            try:
                for name in names:
                    results[name] = await SCENARIOS[name](bench)
            finally:
                if args.show_log:
                    for process in [*bench.services, sink.process]:
                        print(f"--- {process.name}\n{process.log_tail(60)}")
                bench.stop_services()
                sink.stop()
    finally:
        await delete_topics(bootstrap, [quiet])
        await asyncio.to_thread(drop_database, superuser, database.name)
    return {
        "benchmark": NAME,
        "measured_at": datetime.now(UTC).isoformat(),
        **results,
        "targets": {"emails_per_s": TARGET_EMAILS_PER_S},
        "machine": {"cpus": os.cpu_count()},
    }


def report(result: dict[str, Any], stamp: str) -> None:
    if figures := result.get("throughput"):
        verdicts, latency = figures["verdicts"], figures["queue_to_sink"]
        failed = [name for name, ok in figures["checks"].items() if not ok]
        print(
            f"\n{NAME} throughput: {figures['messages']:,} emails "
            f"(~{figures['html_bytes_per_email']:,} B of HTML each), "
            f"{figures['service_processes']} service process(es)"
        )
        rows = [
            ("queued (COPY, batches)", f"{figures['queue_s']} s"),
            ("received by the sink", f"{figures['received']:,} in {figures['sink_span_s']} s"),
            (
                "emails/s (first -> last at the sink)",
                f"{figures['emails_per_s']:,.1f} (target >= {TARGET_EMAILS_PER_S:.0f}) "
                f"{'OK' if verdicts['emails_per_s'] else 'MISS'}",
            ),
            ("every row 'sent' after", f"{figures['all_sent_after_s']} s from the first commit"),
            (
                "queue -> sink p50 / p99 / max",
                f"{latency.get('p50_ms', 0) / 1000:.2f} / {latency.get('p99_ms', 0) / 1000:.2f}"
                f" / {latency.get('max_ms', 0) / 1000:.2f} s (mostly the wait in line)",
            ),
            (
                f"pauses >= {STALL_S * 1000:.0f} ms at the sink",
                f"{figures['stalls']['count']:,}, {figures['stalls']['seconds']} s in all",
            ),
            ("cores", ", ".join(f"{k} {v}" for k, v in figures["cores"].items())),
            ("rows by status/attempts", str(figures["statuses"])),
            ("NotificationSent in the outbox", f"{figures['notification_sent_events']:,}"),
            ("checks", "OK" if not failed else f"FAILED: {', '.join(failed)}"),
        ]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            print(f"  {label:<{width}}  {value}")
    if figures := result.get("campaign"):
        counts = figures["campaign"]["counts"]
        failed = [name for name, ok in figures["checks"].items() if not ok]
        print(
            f"\n{NAME} campaign: {figures['customers']:,} customers in a segment, "
            f"{figures['opted_in']:,} opted in, {figures['service_processes']} service "
            "process(es)"
        )
        rows = [
            ("seeded (COPY contacts + members)", f"{figures['seed_s']} s"),
            ("audience queued after", f"{figures['audience_queued_after_s']} s"),
            ("completed after", f"{figures['completed_after_s']} s"),
            ("emails/s at the sink", f"{figures['emails_per_s']:,.1f}"),
            (
                "counts",
                f"audience {counts['audience']:,}, sent {counts['sent']:,}, skipped "
                f"{counts['skipped']:,} {counts['skipped_by_reason']}, failed {counts['failed']}",
            ),
            ("received by the sink", f"{figures['received']:,}"),
            ("cores", ", ".join(f"{k} {v}" for k, v in figures["cores"].items())),
            ("checks", "OK" if not failed else f"FAILED: {', '.join(failed)}"),
        ]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            print(f"  {label:<{width}}  {value}")
    print(f"  (JSON: bench/results/{NAME}-{stamp}.json)")


def serve(args: argparse.Namespace) -> None:
    """The service as `uvicorn patron_notifications.app:create_app --factory` runs it, its
    customer consumer on a topic nobody writes (the shared topic's events are not this run's)."""
    from patron_notifications.app import create_app  # noqa: PLC0415 - only the server needs it

    serve_on_topics(create_app, args.port, {}, other_topics=args.quiet_topic)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--service-processes", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5_000, help="rows per queued batch")
    parser.add_argument("--campaign-customers", type=int, default=100_000)
    parser.add_argument(
        "--campaign-no-consent-share",
        type=float,
        default=0.2,
        help="share of the segment without email marketing consent",
    )
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="repeatable; default all"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait for sending (default: 240, or 10 ms a message)",
    )
    parser.add_argument(
        "--service-env", action="append", default=[], metavar="KEY=VALUE", help="repeatable"
    )
    parser.add_argument("--show-log", action="store_true", help="print the processes' log tails")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quiet-topic", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    ensure_infrastructure()
    result = asyncio.run(run(args, args.scenario or list(SCENARIOS)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"{NAME}-{stamp}.json").write_text(text)
    (RESULTS / f"{NAME}-latest.json").write_text(text)
    report(result, stamp)
    passed = all(
        ok for name in SCENARIOS if name in result for ok in result[name]["verdicts"].values()
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
