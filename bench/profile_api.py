"""Profile API benchmark: the customer read, list, search and bulk-tag paths at scale.

Makes a fresh database migrated like production's, seeds it set-based (INSERT ... SELECT
generate_series, not through the API) with N customers for one tenant plus 10% for a second
tenant, then runs the real profile service under uvicorn and measures, one server at a time:

1. GET /api/v1/customers/{id} maximum throughput (closed loop, C connections) against a bare
   FastAPI + asyncpg primary-key lookup (the ceiling) measured in the same run;
2. GET by id at a constant 500 requests/s (open loop, scheduled by the clock; latency is
   counted from the scheduled time, so a stalled server cannot hide its queue);
3. the customer list with three filters and a sort (the issue's example and two variants);
4. partial name / email search (`/customers/search?q=`) with varied terms;
5. bulk tagging of 10,000 existing ids (`POST /customers/bulk/tags`).

Then EXPLAIN (ANALYZE, BUFFERS) of each list and search query, as the application role
with its tenant set, so a missed target comes with its plan.

Load goes to 127.0.0.1 only, every loop is bounded in time and count, and the servers are
always stopped. Needs the local infrastructure (`uv run patron stack up --infra`, or
`make bench`). Prints a table of figures against the targets and writes JSON to
bench/results/profile_api-<UTC time>.json and profile_api-latest.json.

    uv run python bench/profile_api.py [--customers N] [--seconds S] [--keep-db]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
from sqlalchemy.engine import make_url

from patron_profile.adapters import customer_queries as list_sql
from patron_profile.adapters import tags as tag_sql
from patron_profile.domain.contact import MAX_TAGS
from patron_profile.domain.customer_query import CustomerFilters, CustomerSort
from patron_profile.settings import ProfileSettings
from patron_shared.auth import mint_dev_token
from patron_shared.db.engine import session_settings
from patron_shared.db.reads import PointQuery
from patron_shared.settings import DEV_JWT_SECRET
from patron_shared.testing import (
    ServiceDatabase,
    create_service_database,
    drop_database,
    resolve_database_url,
    resolve_kafka_bootstrap,
    unique_tenant,
)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench.latency_figures` importable
    sys.path.insert(0, str(ROOT))
from bench.cpu import process_cpu  # noqa: E402
from bench.latency_figures import percentile, summarize  # noqa: E402
from patron_shared.testing import ChildProcess, free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"  # the only address this benchmark sends to
PAGE_SIZE = 20  # the service's default per_page, which every list and search here uses
COUNT_LIMIT = ProfileSettings.model_fields["customers_count_limit"].default
BULK_IDS = 10_000

# Targets from the issue: (comparison, value).
TARGETS = {
    "get_throughput_ratio": (">=", 0.70),
    "get_p99_ms_at_rate": ("<=", 20.0),
    "list_p95_ms": ("<=", 50.0),
    "search_p95_ms": ("<=", 50.0),
    "bulk_tag_seconds": ("<=", 1.0),
}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily "
    "Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa "
    "Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia "
    "Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry "
    "Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Priya "
    "Arjun Wei Mei Hiroshi Yuki Fatima Omar Sofia Mateo Lucas Chloe Noah Olivia Liam Aisha "
    "Ivan Olga Lars Ingrid Pierre Camille Giulia Marco"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed "
    "Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Patel Sharma Chen Wang Tanaka Sato Kowalski Novak Muller Schmidt Rossi Bianchi Dubois "
    "Lefebvre Silva Santos Ivanov Petrov Andersen Nielsen Okafor Mensah"
)
DOMAINS = _words(
    "gmail.com yahoo.com outlook.com hotmail.com icloud.com proton.me example.com "
    "mail.example.org shopmail.net fastmail.com"
)

# One statement per tenant. Names are skewed towards the start of their lists (a few names
# are common, most are rare); 40% of customers never ordered, the rest order a few times
# (geometric); baskets are log-uniform; a few percent carry each tag; 1% are soft-deleted.
SEED_SQL = """
WITH base AS (
    SELECT g,
           now() - random() * interval '1095 days' AS created,
           random() AS r_first, random() AS r_last, random() AS r_domain, random() AS r_phone,
           random() AS r_marketing, random() AS r_source, random() AS r_status,
           random() AS r_orders, random() AS r_basket, random() AS r_last_order,
           random() AS r_first_order, random() AS r_deleted, random() AS r_vip,
           random() AS r_gender, random() AS r_locale,
           random() < 0.05 AS t_vip, random() < 0.12 AS t_newsletter,
           random() < 0.08 AS t_returning, random() < 0.03 AS t_wholesale,
           random() < 0.02 AS t_gift, random() < 0.01 AS t_b2b
    FROM generate_series(1, $2::int) AS g
), named AS (
    SELECT base.*,
           ($3::text[])[1 + floor(power(r_first, 1.6) * cardinality($3::text[]))::int]
               AS first_name,
           ($4::text[])[1 + floor(power(r_last, 1.6) * cardinality($4::text[]))::int]
               AS last_name,
           CASE WHEN r_orders < 0.4 THEN 0
                ELSE 1 + floor(-ln(1 - random()) * 2.5)::int END AS n_orders
    FROM base
), shaped AS (
    SELECT named.*,
           CASE WHEN n_orders > 0 THEN created + (now() - created) * r_last_order END
               AS last_order
    FROM named
)
INSERT INTO customers (
    id, tenant_id, email, phone, first_name, last_name, accepts_marketing, tags, source,
    status, total_orders, priced_orders, total_spent, stats_currency, first_order_at,
    last_order_at, created_at, updated_at, deleted_at, is_vip, gender, locale
)
SELECT gen_random_uuid(), $1,
       lower(first_name) || '.' || lower(last_name) || g::text || '@'
           || ($5::text[])[1 + floor(r_domain * cardinality($5::text[]))::int],
       CASE WHEN r_phone < 0.8
            THEN '+1' || (2012000000 + (g::bigint * 7919) % 7900000000)::text END,
       first_name, last_name,
       r_marketing < 0.45,
       array_remove(ARRAY[
           CASE WHEN t_vip THEN 'vip' END, CASE WHEN t_newsletter THEN 'newsletter' END,
           CASE WHEN t_returning THEN 'returning' END,
           CASE WHEN t_wholesale THEN 'wholesale' END, CASE WHEN t_gift THEN 'gift' END,
           CASE WHEN t_b2b THEN 'b2b' END], NULL),
       CASE WHEN r_source < 0.55 THEN 'web' WHEN r_source < 0.70 THEN 'pos'
            WHEN r_source < 0.85 THEN 'import' WHEN r_source < 0.95 THEN 'api'
            ELSE 'mobile' END,
       CASE WHEN r_status < 0.03 THEN 'disabled' ELSE 'active' END,
       n_orders, n_orders,
       round((n_orders * (10 + exp(r_basket * 5.3))
              * CASE WHEN t_vip THEN 3 ELSE 1 END)::numeric, 2),
       CASE WHEN n_orders > 0 THEN 'USD' END,
       CASE WHEN n_orders > 0 THEN created + (last_order - created) * r_first_order END,
       last_order,
       created,
       coalesce(last_order, created),
       CASE WHEN r_deleted < 0.01 THEN created + (now() - created) * (r_deleted * 100) END,
       t_vip AND r_vip < 0.5,
       CASE WHEN r_gender < 0.3 THEN NULL WHEN r_gender < 0.62 THEN 'female'
            WHEN r_gender < 0.94 THEN 'male' WHEN r_gender < 0.97 THEN 'non_binary'
            ELSE 'undisclosed' END,
       (ARRAY['en-US', 'en-GB', 'de-DE', 'fr-FR', 'es-ES', 'it-IT', 'ja-JP', 'hi-IN'])
           [1 + floor(power(r_locale, 2) * 8)::int]
FROM shaped
"""


# --------------------------------------------------------------------------- HTTP client


class HttpConnection:
    """One keep-alive HTTP/1.1 connection: a lean client so the generator costs little CPU."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> HttpConnection:
        self._reader, self._writer = await asyncio.open_connection(HOST, self.port)
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None:
            await self.open()
        assert self._reader is not None
        assert self._writer is not None
        self._writer.write(raw)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        chunked = False
        keep_alive = True
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep_alive = b"close" not in value.lower()
        body = await (self._read_chunked() if chunked else self._reader.readexactly(length))
        if not keep_alive:
            self.close()
        return status, body

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def http_get(port: int, path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{auth}\r\n".encode()


def http_post_json(port: int, path: str, token: str, payload: Any) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


# --------------------------------------------------------------------------- CPU accounting

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


_MACHINE_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def _machine_cpu() -> dict[str, float]:
    """CPU seconds of the whole machine since boot, by kind (/proc/stat)."""
    try:
        values = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return {}
    return {name: int(v) / _TICKS for name, v in zip(_MACHINE_FIELDS, values, strict=False)}


@dataclass
class CpuProbe:
    """Who used the CPU during one measurement: generator, server, PostgreSQL, the rest."""

    server_pid: int
    started: float = 0.0
    processes: dict[int, tuple[str, float]] = field(default_factory=dict)
    machine: dict[str, float] = field(default_factory=dict)

    def start(self) -> CpuProbe:
        self.started = time.perf_counter()
        self.processes = process_cpu()
        self.machine = _machine_cpu()
        return self

    def stop(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.started
        now, machine = process_cpu(), _machine_cpu()
        used = {
            pid: (name, cpu - self.processes.get(pid, (name, 0.0))[1])
            for pid, (name, cpu) in now.items()
        }
        mine, server = os.getpid(), self.server_pid
        postgres = sum(cpu for name, cpu in used.values() if name == "postgres")
        others = sorted(
            (
                (cpu, f"{name}[{pid}]")
                for pid, (name, cpu) in used.items()
                if pid not in (mine, server) and name != "postgres" and cpu > 0
            ),
            reverse=True,
        )
        spent = {k: machine.get(k, 0.0) - self.machine.get(k, 0.0) for k in _MACHINE_FIELDS}
        busy = sum(v for k, v in spent.items() if k not in ("idle", "iowait"))
        return {
            "wall_seconds": round(wall, 3),
            "generator_cores": round(used.get(mine, ("", 0.0))[1] / wall, 3),
            "server_cores": round(used.get(server, ("", 0.0))[1] / wall, 3),
            "postgres_cores": round(postgres / wall, 3),
            "other_processes_cores": round(sum(cpu for cpu, _ in others) / wall, 3),
            "top_other_processes": {who: round(cpu / wall, 3) for cpu, who in others[:4]},
            "machine_busy_cores": round(busy / wall, 3),
            "machine_by_kind_cores": {
                k: round(v / wall, 3) for k, v in spent.items() if k not in ("idle", "nice")
            },
        }


def bottleneck(cpu: dict[str, Any], cpus: int) -> str:
    """A plain reading of where the time went in a closed-loop run."""
    busy, gen, server = cpu["machine_busy_cores"], cpu["generator_cores"], cpu["server_cores"]
    if server >= 0.8:
        return f"server-bound: the single uvicorn worker used {server:.2f} of a core"
    if busy >= 0.9 * cpus:
        return (
            f"machine-bound: all {cpus} cores busy; the load generator took {gen:.2f} cores "
            "that the server and PostgreSQL would otherwise have had"
        )
    return "neither the server process nor the machine was saturated"


# --------------------------------------------------------------------------- statistics


def verdict(name: str, value: float | None, errors: int = 0) -> str:
    if value is None or math.isnan(value) or errors:  # missing, NaN or failed requests
        return "ERROR"
    op, target = TARGETS[name]
    ok = value >= target if op == ">=" else value <= target
    return "PASS" if ok else "MISS"


# --------------------------------------------------------------------------- load shapes

RequestMaker = Callable[[int], tuple[str, bytes]]


def repeat(label: str, raw: bytes) -> RequestMaker:
    return lambda n: (label, raw)


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    cpu: dict[str, Any] = field(default_factory=dict)

    def record(self, label: str, status: int, latency: float) -> None:
        self.statuses[status] += 1
        if 200 <= status < 300:
            self.latencies.setdefault(label, []).append(latency)
        else:
            self.failures[f"HTTP {status}"] += 1

    @property
    def completed(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    def all_latencies(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]

    def report(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "completed": self.completed,
            "errors": self.errors,
            "failures": dict(self.failures),
            "requests_per_s": round(self.completed / self.seconds, 1) if self.seconds else 0.0,
            "latency": summarize(self.all_latencies()),
            "by_label": {k: summarize(v) for k, v in sorted(self.latencies.items())}
            if len(self.latencies) > 1
            else {},
            "cpu": self.cpu,
        }


@contextlib.contextmanager
def generator_gc_paused() -> Iterator[None]:
    """No collection in this process while a phase runs: a full collection of the load
    generator's heap (tens of milliseconds) would be counted as the server's latency."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def closed_loop(
    port: int,
    make: RequestMaker,
    *,
    server_pid: int,
    concurrency: int,
    seconds: float,
    max_requests: int,
    warmup: float = 0.0,
) -> LoadResult:
    """`concurrency` clients, each sending its next request when the last one answered."""
    connections = [await HttpConnection(port).open() for _ in range(concurrency)]
    counter = iter(range(10**12))

    async def client(connection: HttpConnection, deadline: float, result: LoadResult) -> None:
        while time.perf_counter() < deadline and result.completed + result.errors < max_requests:
            label, raw = make(next(counter))
            sent = time.perf_counter()
            try:
                status, _ = await connection.request(raw)
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                result.failures[type(error).__name__] += 1
                connection.close()
                continue
            result.record(label, status, time.perf_counter() - sent)

    try:
        if warmup > 0:
            discard = LoadResult()
            end = time.perf_counter() + warmup
            await asyncio.gather(*(client(c, end, discard) for c in connections))
        result = LoadResult()
        with generator_gc_paused():
            probe = CpuProbe(server_pid).start()
            started = time.perf_counter()
            deadline = started + seconds
            await asyncio.gather(*(client(c, deadline, result) for c in connections))
            result.seconds = time.perf_counter() - started
            result.cpu = probe.stop()
        return result
    finally:
        for connection in connections:
            connection.close()


async def open_loop(
    port: int,
    make: RequestMaker,
    *,
    server_pid: int,
    rate: float,
    seconds: float,
    max_connections: int = 256,
    drain_timeout: float = 30.0,
) -> tuple[LoadResult, dict[str, float]]:
    """Requests sent on a fixed schedule whatever the server does; latency from schedule."""
    idle: asyncio.Queue[HttpConnection] = asyncio.Queue()
    opened: list[HttpConnection] = []
    for _ in range(min(64, max_connections)):
        connection = await HttpConnection(port).open()
        opened.append(connection)
        idle.put_nowait(connection)
    result = LoadResult()
    send_lag: list[float] = []
    total = int(rate * seconds)

    async def one(n: int, scheduled: float) -> None:
        if idle.empty() and len(opened) < max_connections:
            connection = HttpConnection(port)
            opened.append(connection)
        else:
            connection = await idle.get()
        label, raw = make(n)
        send_lag.append(time.perf_counter() - scheduled)
        try:
            status, _ = await connection.request(raw)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            result.failures[type(error).__name__] += 1
            connection.close()
        else:
            result.record(label, status, time.perf_counter() - scheduled)
        idle.put_nowait(connection)

    tasks: list[asyncio.Task[None]] = []
    with generator_gc_paused():
        probe = CpuProbe(server_pid).start()
        started = time.perf_counter()
        try:
            for n in range(total):
                scheduled = started + n / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(n, scheduled)))
            _, pending = await asyncio.wait(tasks, timeout=drain_timeout)
            for task in pending:
                task.cancel()
            result.failures["unanswered after the run"] += len(pending)
            result.seconds = time.perf_counter() - started
            result.cpu = probe.stop()
        finally:
            for task in tasks:
                task.cancel()
            for connection in opened:
                connection.close()
    lag = sorted(send_lag)
    schedule = {
        "target_rate": rate,
        "scheduled": total,
        "achieved_rate": round(result.completed / result.seconds, 1) if result.seconds else 0.0,
        "send_lag_p99_ms": round(percentile(lag, 0.99) * 1000, 2) if lag else 0.0,
        "connections_used": len(opened),
    }
    return result, schedule


# --------------------------------------------------------------------------- servers


class ServerProcess(ChildProcess):
    """A uvicorn server on a port of its own, stopped whatever happens."""

    running: list[ServerProcess] = []

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.port = free_port()
        super().__init__(name, [*command, "--port", str(self.port)], env, logs)
        ServerProcess.running.append(self)

    async def wait_ready(  # type: ignore[override] - its port is its own
        self, limit_s: float = 90.0
    ) -> None:
        await super().wait_ready(self.port, limit_s)

    def stop(self) -> None:
        super().stop()
        if self in ServerProcess.running:
            ServerProcess.running.remove(self)

    @classmethod
    def stop_all(cls) -> None:
        for server in list(cls.running):
            server.stop()


@contextlib.asynccontextmanager
async def serving(
    name: str, command: list[str], env: dict[str, str], logs: Path
) -> AsyncIterator[ServerProcess]:
    server = ServerProcess(name, command, env, logs)
    try:
        await server.wait_ready()
        yield server
    finally:
        server.stop()


UVICORN_OPTIONS = ["--workers", "1", "--no-access-log", "--log-level", "warning"]


def profile_command() -> list[str]:
    return [
        sys.executable,
        *("-m", "uvicorn", "patron_profile.app:create_app", "--factory", "--host", HOST),
        *UVICORN_OPTIONS,
    ]


def baseline_command(dsn: str, tenant: str, pool_size: int) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve-baseline",
        *("--dsn", dsn, "--tenant", tenant, "--pool-size", str(pool_size)),
    ]


def build_baseline_app(dsn: str, tenant: str, pool_size: int) -> Any:
    """The ceiling: FastAPI, one asyncpg pool, one primary-key SELECT, the row as JSON."""
    from fastapi import FastAPI, HTTPException  # noqa: PLC0415 - only the server needs it

    state: dict[str, asyncpg.Pool] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=2 * pool_size)
        try:
            yield
        finally:
            await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/api/v1/customers/{customer_id}")
    async def get_customer(customer_id: uuid.UUID) -> dict[str, Any]:
        row = await state["pool"].fetchrow(
            "SELECT * FROM customers WHERE tenant_id = $1 AND id = $2", tenant, customer_id
        )
        if row is None:
            raise HTTPException(status_code=404)
        return dict(row)

    return app


def serve_baseline(args: argparse.Namespace) -> None:
    import uvicorn  # noqa: PLC0415 - only the server needs it

    app = build_baseline_app(args.dsn, args.tenant, args.pool_size)
    # The same settings as the profile server's command line (UVICORN_OPTIONS).
    uvicorn.run(app, host=HOST, port=args.port, workers=1, access_log=False, log_level="warning")


# --------------------------------------------------------------------------- database


def plain_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def seed(
    owner_dsn: str, tenant: str, other_tenant: str, count: int
) -> dict[str, float | int]:
    """Set-based seeding as the owner: indexes are dropped, rows inserted, indexes rebuilt
    with the migration's own definitions, then VACUUM ANALYZE (what autovacuum would reach)."""
    connection = await asyncpg.connect(owner_dsn)
    timings: dict[str, float | int] = {}
    try:
        await connection.execute("SET maintenance_work_mem = '1GB'")
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename = 'customers' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = 'customers'::regclass)"
        )
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        started = time.perf_counter()
        await connection.execute("SELECT setseed(0.42)")
        for name, rows in ((tenant, count), (other_tenant, max(1, count // 10))):
            await connection.execute(
                SEED_SQL, name, rows, list(FIRST_NAMES), list(LAST_NAMES), list(DOMAINS)
            )
        timings["insert_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        for index in indexes:
            await connection.execute(index["indexdef"])
        timings["index_seconds"] = round(time.perf_counter() - started, 2)
        timings["indexes_rebuilt"] = len(indexes)
        started = time.perf_counter()
        # Every table: triggers fill side tables (customer_tags) during the insert.
        await connection.execute("VACUUM (ANALYZE)")
        timings["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 2)
        # The seed's writes are flushed now, not by a checkpoint in the middle of a phase.
        started = time.perf_counter()
        await connection.execute("CHECKPOINT")
        timings["checkpoint_seconds"] = round(time.perf_counter() - started, 2)
        timings["table_mb"] = round(
            await connection.fetchval("SELECT pg_table_size('customers')") / 2**20, 1
        )
        timings["indexes_mb"] = round(
            await connection.fetchval("SELECT pg_indexes_size('customers')") / 2**20, 1
        )
    finally:
        await connection.close()
    return timings


async def sample_customers(owner_dsn: str, tenant: str, count: int) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(owner_dsn)
    try:
        return list(
            await connection.fetch(
                "SELECT id, first_name, last_name, email FROM customers "
                "WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY random() LIMIT $2",
                tenant,
                count,
            )
        )
    finally:
        await connection.close()


async def postgres_settings(owner_dsn: str) -> dict[str, str]:
    connection = await asyncpg.connect(owner_dsn)
    try:
        rows = await connection.fetch(
            "SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = "
            "ANY($1::text[])",
            [
                "shared_buffers",
                "work_mem",
                "effective_cache_size",
                "random_page_cost",
                "fsync",
                "synchronous_commit",
                "jit",
                "max_parallel_workers_per_gather",
            ],
        )
        version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return {"server_version": version, **{row["name"]: row["value"] for row in rows}}


# --------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class ListVariant:
    name: str
    filters: dict[str, Any]
    sort: str

    def query_string(self) -> str:
        params: dict[str, str] = {}
        for key, value in self.filters.items():
            if isinstance(value, tuple):
                params[key] = ",".join(value)
            elif isinstance(value, bool):
                params[key] = "true" if value else "false"
            elif isinstance(value, datetime):
                params[key] = value.isoformat()
            else:
                params[key] = str(value)
        params["sort"] = self.sort
        return urlencode(params)

    def customer_filters(self) -> CustomerFilters:
        return CustomerFilters(**self.filters)


def list_variants(now: datetime) -> list[ListVariant]:
    return [
        ListVariant(
            "tags=vip, accepts_marketing, total_spent>=100; -total_spent",
            {"tags": ("vip",), "accepts_marketing": True, "total_spent_min": Decimal(100)},
            "-total_spent",
        ),
        ListVariant(
            "source=pos, status=active, orders>=3; -last_order_at",
            {"source": "pos", "status": "active", "orders_min": 3},
            "-last_order_at",
        ),
        ListVariant(
            "tags=newsletter, created last year, total_spent<=50; name",
            {
                "tags": ("newsletter",),
                "created_from": now - timedelta(days=365),
                "total_spent_max": Decimal(50),
            },
            "name",
        ),
    ]


def search_terms(sample: list[asyncpg.Record], rng: random.Random) -> dict[str, list[str]]:
    """Partial terms a person types, by kind, drawn from seeded customers."""
    kinds: dict[str, list[str]] = {
        "first name part": [],
        "last name part": [],
        "full name": [],
        "email part": [],
    }
    for row in sample[:400]:
        first, last, email = row["first_name"], row["last_name"], row["email"]
        start = rng.randrange(0, max(1, len(first) - 3))
        kinds["first name part"].append(first[start : start + 4].lower())
        start = rng.randrange(0, max(1, len(last) - 4))
        kinds["last name part"].append(last[start : start + 5].lower())
        kinds["full name"].append(f"{first} {last[: rng.randint(2, len(last))]}")
        local = email.split("@", 1)[0]
        kinds["email part"].append(local[1 : max(5, len(local) - 1)])
    return {kind: sorted(set(terms)) for kind, terms in kinds.items()}


# --------------------------------------------------------------------------- EXPLAIN


_LONG_ARRAY = re.compile(r"'\{[^}']{2000,}\}'")
_SCAN = re.compile(
    r"(Parallel )?(Seq Scan on \S+|Index Only Scan( Backward)? using \S+|"
    r"Index Scan( Backward)? using \S+|Bitmap Index Scan on \S+)"
)


async def explain(
    connection: asyncpg.Connection, tenant: str, query: PointQuery, values: dict[str, Any]
) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement with the tenant set, rolled back."""
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute("SELECT set_config('patron.tenant_id', $1, true)", tenant)
        rows = await connection.fetch(
            f"EXPLAIN (ANALYZE, BUFFERS) {query.sql}", *query.arguments(values)
        )
    finally:
        await transaction.rollback()
    # Long literal id lists (bulk tagging) would drown the plan: keep their length only.
    plan = _LONG_ARRAY.sub(
        lambda m: f"'{{<{m.group(0).count(',') + 1} values>}}'", "\n".join(r[0] for r in rows)
    )
    timing = re.search(r"Execution Time: ([0-9.]+) ms", plan)
    return {
        "execution_ms": float(timing.group(1)) if timing else float("nan"),
        "scans": sorted({m.group(0) for m in _SCAN.finditer(plan)}),
        "plan": plan,
    }


def list_statements(
    tenant: str, filters: CustomerFilters, sort: CustomerSort
) -> dict[str, tuple[PointQuery, dict[str, Any]]]:
    """The statements the service runs for the first page of a list, with their values:
    the count and page (led by a tag when it has one), and the page walked in sort order
    when the matches pass the count limit."""
    shape = list_sql.ListShape.of(filters, sort)
    values = list_sql.filter_values(filters, tenant) | {
        "count_limit": COUNT_LIMIT,
        "matches_limit": COUNT_LIMIT + 1,
        "page_offset": 0,
        "page_limit": PAGE_SIZE,
        "tag_probes": list_sql.TAG_PROBES,
    }
    lead = shape.tag_lead(len(values["tags"]))
    statements = {"count and page": (list_sql.count_and_page(shape, lead), values)}
    if lead is not None:
        statements["count and page, planner's choice (if the walk of the tag stops early)"] = (
            list_sql.count_and_page(shape, None),
            values,
        )
    statements["page walked in sort order (over the count limit)"] = (
        list_sql.walk(shape),
        values,
    )
    return statements


async def explain_queries(
    dsns: dict[str, str],
    tenant: str,
    queries: dict[str, tuple[CustomerFilters, CustomerSort]],
    bulk_ids: list[str],
) -> dict[str, dict[str, Any]]:
    """The statements the service runs for each list or search (built by the service's
    own query code, with its session settings) and the bulk-tag UPDATE, explained as each
    role in `dsns`: the application role (row-level security applies) and the table owner
    (it does not), so the cost of the policy shows."""
    statements = {
        name: list_statements(tenant, filters, sort) for name, (filters, sort) in queries.items()
    }
    ids = [uuid.UUID(i) for i in bulk_ids[:BULK_IDS]]
    bulk = {"mode": "add", "tags": ["bench-explain"], "ids": ids, "tenant": tenant}
    statements[f"bulk tags UPDATE of {len(ids):,} ids (rolled back)"] = {
        "update": (PointQuery.of(tag_sql._BULK_TAGS), bulk | {"max_tags": MAX_TAGS})
    }
    plans: dict[str, dict[str, Any]] = {}
    for role, dsn in dsns.items():
        connection = await asyncpg.connect(dsn, server_settings=session_settings("bench-explain"))
        try:
            for name, parts in statements.items():
                for part, (query, values) in parts.items():
                    entry = plans.setdefault(name, {}).setdefault(part, {})
                    entry["sql"] = query.sql
                    entry[role] = await explain(connection, tenant, query, values)
        finally:
            await connection.close()
    return plans


# --------------------------------------------------------------------------- the run


@dataclass
class Options:
    customers: int
    seconds: float
    warmup: float
    concurrency: int
    rate: float
    list_concurrency: int
    bulk_runs: int
    pool_size: int


async def run(database: ServiceDatabase, options: Options, logs: Path) -> dict[str, Any]:
    cpus = os.cpu_count() or 1
    tenant, other = unique_tenant("bench"), unique_tenant("bench-other")
    owner_dsn, app_dsn = plain_dsn(database.owner_url), plain_dsn(database.app_url)
    rng = random.Random(42)

    print(f"seeding {options.customers:,} customers (+{options.customers // 10:,} other tenant)")
    started = time.perf_counter()
    seeding = await seed(owner_dsn, tenant, other, options.customers)
    seeding["total_seconds"] = round(time.perf_counter() - started, 2)
    print(
        f"  seeded in {seeding['total_seconds']:.1f} s (insert {seeding['insert_seconds']} s, "
        f"indexes {seeding['index_seconds']} s, vacuum analyze "
        f"{seeding['vacuum_analyze_seconds']} s); table {seeding['table_mb']} MB, "
        f"indexes {seeding['indexes_mb']} MB"
    )
    sample = await sample_customers(owner_dsn, tenant, 50_000 + options.bulk_runs * BULK_IDS)
    # Bulk tagging gets ids of its own (colder rows); small runs share them with lookups.
    bulk_ids = [str(row["id"]) for row in sample[: options.bulk_runs * BULK_IDS]]
    lookup_ids = [str(row["id"]) for row in sample[len(bulk_ids) :]] or bulk_ids
    token = mint_dev_token(secret=DEV_JWT_SECRET, tenant=tenant, roles=("admin",))
    limit = int(options.seconds * 20_000)  # a bound on requests per phase, never reached

    def get_by_id(port: int) -> RequestMaker:
        paths = [f"/api/v1/customers/{i}" for i in lookup_ids]
        return lambda n: ("get", http_get(port, rng.choice(paths), token))

    results: dict[str, Any] = {}
    # 1. The bare baseline, alone.
    baseline_env = dict(os.environ)
    command = baseline_command(owner_dsn, tenant, options.pool_size)
    async with serving("baseline", command, baseline_env, logs) as server:
        print("measuring the bare FastAPI + asyncpg baseline")
        throughput = await closed_loop(
            server.port,
            get_by_id(server.port),
            server_pid=server.pid,
            concurrency=options.concurrency,
            seconds=options.seconds,
            max_requests=limit,
            warmup=options.warmup,
        )
        results["baseline_get_throughput"] = throughput.report()
        fixed, schedule = await open_loop(
            server.port,
            get_by_id(server.port),
            server_pid=server.pid,
            rate=options.rate,
            seconds=options.seconds,
        )
        results["baseline_get_at_rate"] = fixed.report() | {"schedule": schedule}

    # 2. The profile service, alone.
    group_prefix = f"bench-{uuid.uuid4().hex[:8]}-"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATRON_")} | {
        "PATRON_DATABASE_URL": database.app_url,
        "PATRON_DATABASE_POOL_SIZE": str(options.pool_size),
        "PATRON_KAFKA_BOOTSTRAP": resolve_kafka_bootstrap(),
        "PATRON_CONSUMER_GROUP_PREFIX": group_prefix,
        "PATRON_CONSUMER_OFFSET_RESET": "latest",
        "PATRON_LOG_LEVEL": "WARNING",
    }
    now = datetime.now(UTC)
    variants = list_variants(now)
    terms = search_terms(sample, rng)
    async with serving("profile", profile_command(), env, logs) as server:
        port = server.port
        print("measuring the profile service: GET by id")
        throughput = await closed_loop(
            port,
            get_by_id(port),
            server_pid=server.pid,
            concurrency=options.concurrency,
            seconds=options.seconds,
            max_requests=limit,
            warmup=options.warmup,
        )
        results["profile_get_throughput"] = throughput.report()
        fixed, schedule = await open_loop(
            port,
            get_by_id(port),
            server_pid=server.pid,
            rate=options.rate,
            seconds=options.seconds,
        )
        results["profile_get_at_rate"] = fixed.report() | {"schedule": schedule}

        print("measuring lists with three filters and a sort")
        results["lists"] = {}
        for variant in variants:
            path = f"/api/v1/customers?{variant.query_string()}"
            raw = http_get(port, path, token)
            result = await closed_loop(
                port,
                repeat("list", raw),
                server_pid=server.pid,
                concurrency=options.list_concurrency,
                seconds=max(2.0, options.seconds / 2),
                max_requests=limit,
                warmup=1.0,
            )
            results["lists"][variant.name] = {"path": path, **result.report()}

        print("measuring partial name / email search")
        flat = [(kind, term) for kind, values in terms.items() for term in values]
        rng.shuffle(flat)
        search_requests = [
            (kind, http_get(port, "/api/v1/customers/search?" + urlencode({"q": t}), token))
            for kind, t in flat
        ]
        search = await closed_loop(
            port,
            lambda n: search_requests[n % len(search_requests)],
            server_pid=server.pid,
            concurrency=options.list_concurrency,
            seconds=options.seconds,
            max_requests=limit,
            warmup=1.0,
        )
        results["search"] = search.report() | {
            "terms": len(flat),
            "examples": {kind: values[:5] for kind, values in terms.items()},
        }

        print(f"measuring bulk tagging of {BULK_IDS:,} ids")
        results["bulk_tags"] = await bulk_tagging(
            port, token, bulk_ids, options.bulk_runs, server.pid
        )

    print("explaining the list and search queries")
    queries: dict[str, tuple[CustomerFilters, CustomerSort]] = {
        f"list: {v.name}": (v.customer_filters(), CustomerSort.parse(v.sort)) for v in variants
    }
    for kind, values in terms.items():
        queries[f"search ({kind}): {values[0]!r}"] = (
            CustomerFilters(search=values[0].lower()),
            CustomerSort.parse("-created_at"),
        )
    dsns = {"app_role": app_dsn, "owner": owner_dsn}
    results["explain"] = await explain_queries(dsns, tenant, queries, lookup_ids)
    return {
        "benchmark": "profile_api",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": cpus,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "postgres": await postgres_settings(owner_dsn),
        },
        "customers": options.customers,
        "other_tenant_customers": options.customers // 10,
        "options": vars(options),
        "seeding": seeding,
        "notes": [
            "baseline: bare FastAPI + asyncpg, SELECT * by (tenant_id, id) as the table owner "
            "(no row-level security, no auth); profile: the real app as patron_app (JWT, "
            "row-level security via set_config, SQLAlchemy, response model)",
            "each server measured alone; the load generator runs on the same machine",
            f"list and search use {options.list_concurrency} concurrent clients",
        ],
        **results,
    }


async def bulk_tagging(
    port: int, token: str, ids: list[str], runs: int, server_pid: int
) -> dict[str, Any]:
    connection = await HttpConnection(port).open()
    timings: list[float] = []
    outcomes: list[dict[str, Any]] = []
    probe = CpuProbe(server_pid).start()
    try:
        for n in range(runs):
            chunk = ids[n * BULK_IDS : (n + 1) * BULK_IDS]
            payload = {"customer_ids": chunk, "tags": [f"bench-bulk-{n}"]}
            raw = http_post_json(port, "/api/v1/customers/bulk/tags", token, payload)
            started = time.perf_counter()
            status, body = await connection.request(raw)
            timings.append(time.perf_counter() - started)
            answer: dict[str, Any] = (
                json.loads(body)
                if status == 200
                else {"status": status, "error": body[:500].decode(errors="replace")}
            )
            outcomes.append(
                {
                    k: answer[k]
                    for k in ("requested", "changed", "unchanged", "status", "error")
                    if k in answer
                }
                | {"not_found": len(answer.get("not_found") or [])}
            )
    finally:
        connection.close()
    cpu = probe.stop()
    failed = sum(1 for o in outcomes if o.get("changed") != BULK_IDS)
    return {
        "ids": BULK_IDS,
        "runs": runs,
        "seconds": [round(t, 3) for t in timings],
        "median_seconds": round(statistics.median(timings), 3) if timings else None,
        "max_seconds": round(max(timings), 3) if timings else None,
        "outcomes": outcomes,
        "errors": failed,
        "cpu": cpu,
    }


# --------------------------------------------------------------------------- report


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline rows: figure, measured value, target and verdict."""
    rows: list[dict[str, Any]] = []
    base, prof = result["baseline_get_throughput"], result["profile_get_throughput"]
    ratio = prof["requests_per_s"] / base["requests_per_s"] if base["requests_per_s"] else None
    rows.append(
        {
            "figure": "GET by id throughput, profile / bare",
            "key": "get_throughput_ratio",
            "value": round(ratio, 3) if ratio is not None else None,
            "shown": f"{ratio:.2f} ({prof['requests_per_s']:,.0f} / "
            f"{base['requests_per_s']:,.0f} req/s)"
            if ratio is not None
            else "n/a",
            "errors": base["errors"] + prof["errors"],
        }
    )
    at_rate = result["profile_get_at_rate"]
    p99 = at_rate["latency"].get("p99_ms")
    bare_p99 = result["baseline_get_at_rate"]["latency"].get("p99_ms")
    rows.append(
        {
            "figure": f"GET by id p99 at {at_rate['schedule']['target_rate']:.0f} req/s",
            "key": "get_p99_ms_at_rate",
            "value": p99,
            "shown": f"{p99} ms (p50 {at_rate['latency'].get('p50_ms')}, achieved "
            f"{at_rate['schedule']['achieved_rate']}/s; bare p99 {bare_p99})",
            "errors": at_rate["errors"],
        }
    )
    for name, measured in result["lists"].items():
        p95 = measured["latency"].get("p95_ms")
        rows.append(
            {
                "figure": f"list {name} p95",
                "key": "list_p95_ms",
                "value": p95,
                "shown": f"{p95} ms ({measured['requests_per_s']} req/s)",
                "errors": measured["errors"],
            }
        )
    search = result["search"]
    p95 = search["latency"].get("p95_ms")
    rows.append(
        {
            "figure": "search p95, all terms",
            "key": "search_p95_ms",
            "value": p95,
            "shown": f"{p95} ms ({search['requests_per_s']} req/s)",
            "errors": search["errors"],
        }
    )
    for kind, summary in search["by_label"].items():
        rows.append(
            {
                "figure": f"  search p95, {kind}",
                "key": "search_p95_ms",
                "value": summary.get("p95_ms"),
                "shown": f"{summary.get('p95_ms')} ms",
                "errors": 0,
            }
        )
    bulk = result["bulk_tags"]
    rows.append(
        {
            "figure": f"bulk tag {bulk['ids']:,} ids, median of {bulk['runs']}",
            "key": "bulk_tag_seconds",
            "value": bulk["median_seconds"],
            "shown": f"{bulk['median_seconds']} s (max {bulk['max_seconds']} s)",
            "errors": bulk["errors"],
        }
    )
    for row in rows:
        op, target = TARGETS[row["key"]]
        row["target"] = f"{op} {target:g}"
        row["verdict"] = verdict(row["key"], row["value"], row["errors"])
    return rows


def print_report(result: dict[str, Any], stamp: str) -> None:
    cpus = result["machine"]["cpus"]
    print(
        f"\nprofile_api: {result['customers']:,} customers "
        f"(+{result['other_tenant_customers']:,} in a second tenant), {cpus} CPUs, "
        f"seeded in {result['seeding']['total_seconds']} s"
    )
    print(f"  {'figure':<62} {'measured':<44} {'target':<8} verdict")
    for row in result["figures"]:
        print(f"  {row['figure']:<62} {row['shown']:<44} {row['target']:<8} {row['verdict']}")
    print("\n  where the CPU went (cores; generator = this process):")
    phases = {
        "baseline GET, max throughput": result["baseline_get_throughput"],
        "profile GET, max throughput": result["profile_get_throughput"],
        "baseline GET, fixed rate": result["baseline_get_at_rate"],
        "profile GET, fixed rate": result["profile_get_at_rate"],
        **{f"list {k[:40]}": v for k, v in result["lists"].items()},
        "search": result["search"],
        "bulk tagging": result["bulk_tags"],
    }
    for name, phase in phases.items():
        cpu = phase["cpu"]
        print(
            f"    {name:<52} generator {cpu['generator_cores']:.2f}  server "
            f"{cpu['server_cores']:.2f}  postgres {cpu['postgres_cores']:.2f}  others "
            f"{cpu['other_processes_cores']:.2f}  machine {cpu['machine_busy_cores']:.2f}/{cpus}"
        )
    for key in ("baseline_get_throughput", "profile_get_throughput"):
        print(f"  {key}: {result[key]['bottleneck']}")
    for key in ("generator_note", "shared_machine_note"):
        if result.get(key):
            print(f"  note: {result[key]}")
    print("\n  EXPLAIN (ANALYZE) execution time as the application role (row-level security)")
    print("  and as the table owner (none), with the scans each plan used:")
    for name, parts in result["explain"].items():
        print(f"    {name}")
        for part, entry in parts.items():
            app, owner = entry["app_role"], entry["owner"]
            print(
                f"      {part:<7} app {app['execution_ms']:>8.1f} ms {', '.join(app['scans'])}\n"
                f"      {'':<7} owner {owner['execution_ms']:>6.1f} ms {', '.join(owner['scans'])}"
            )
    print(f"  (JSON with plans: bench/results/profile_api-{stamp}.json)")


def annotate(result: dict[str, Any]) -> None:
    cpus = result["machine"]["cpus"]
    for key in ("baseline_get_throughput", "profile_get_throughput"):
        result[key]["bottleneck"] = bottleneck(result[key]["cpu"], cpus)
    base, prof = result["baseline_get_throughput"], result["profile_get_throughput"]
    # Requests per CPU second spent serving them (server + PostgreSQL): a second view of the
    # ratio that does not depend on how much CPU the generator took from the server.
    for phase in (base, prof):
        spent = phase["cpu"]["server_cores"] + phase["cpu"]["postgres_cores"]
        phase["requests_per_serving_cpu_s"] = (
            round(phase["requests_per_s"] / spent, 1) if spent else None
        )
    if base["requests_per_serving_cpu_s"] and prof["requests_per_serving_cpu_s"]:
        result["get_efficiency_ratio"] = round(
            prof["requests_per_serving_cpu_s"] / base["requests_per_serving_cpu_s"], 3
        )
    generator = max(base["cpu"]["generator_cores"], prof["cpu"]["generator_cores"])
    if any(
        phase["cpu"]["machine_busy_cores"] >= 0.9 * cpus and phase["cpu"]["server_cores"] < 0.8
        for phase in (base, prof)
    ):
        result["generator_note"] = (
            f"the load generator shares the {cpus} cores and took up to {generator:.2f} of "
            "them, so the maximum-throughput figures are machine-bound, not server-bound; "
            "requests per serving CPU second (server + PostgreSQL): profile "
            f"{prof['requests_per_serving_cpu_s']}, bare {base['requests_per_serving_cpu_s']}, "
            f"ratio {result.get('get_efficiency_ratio')}"
        )
    phases = [base, prof, result["baseline_get_at_rate"], result["profile_get_at_rate"]]
    phases += [*result["lists"].values(), result["search"]]
    noisy = max(phase["cpu"]["other_processes_cores"] for phase in phases)
    if noisy >= 0.25:
        result["shared_machine_note"] = (
            f"other processes on this machine used up to {noisy:.2f} cores during a "
            "measurement (see cpu.top_other_processes): figures are lower than on a quiet "
            "machine"
        )
    result["figures"] = figures(result)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run_loop(coroutine: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    try:
        import uvloop  # noqa: PLC0415 - optional, as for uvicorn

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32, help="clients for max throughput")
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s for the p99 run")
    parser.add_argument("--list-concurrency", type=int, default=4)
    parser.add_argument("--bulk-runs", type=int, default=3)
    parser.add_argument("--pool-size", type=int, default=10, help="both servers' DB pool")
    parser.add_argument("--keep-db", action="store_true", help="keep the seeded database")
    # The bare baseline server (started by the benchmark itself).
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--dsn", default="", help=argparse.SUPPRESS)
    parser.add_argument("--tenant", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args)
        return
    options = Options(
        customers=args.customers,
        seconds=args.seconds,
        warmup=args.warmup,
        concurrency=args.concurrency,
        rate=args.rate,
        list_concurrency=args.list_concurrency,
        bulk_runs=args.bulk_runs,
        pool_size=args.pool_size,
    )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    began = time.perf_counter()
    superuser = resolve_database_url()
    # A fresh database migrated like production's; made and dropped outside the event loop.
    database = create_service_database(ROOT / "services" / "profile", superuser, "bench_profile")
    logs = Path(tempfile.mkdtemp(prefix="patron-bench-"))
    try:
        result = run_loop(run(database, options, logs))
    finally:
        ServerProcess.stop_all()
        shutil.rmtree(logs, ignore_errors=True)
        if args.keep_db:
            print(f"kept database {database.name} ({plain_dsn(database.owner_url)})")
        else:
            drop_database(superuser, database.name)
    result["total_seconds"] = round(time.perf_counter() - began, 1)
    annotate(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"profile_api-{stamp}.json").write_text(text)
    (RESULTS / "profile_api-latest.json").write_text(text)
    print_report(result, stamp)


if __name__ == "__main__":
    main()
