"""The GDPR export on profile: its own part from the database, the other services' parts
over HTTP, and what the document says when a service does not answer.

The other services here are stand-ins on local ports (one answers, one is too slow, one
fails, one is not listening); the happy path against the real services is in
tests-e2e/test_export_flow.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from patron_profile.app import create_app
from patron_profile.settings import ProfileSettings
from patron_shared.http import ServiceRuntime
from patron_shared.settings import ServiceSettings
from patron_shared.testing import bearer_headers, unique_tenant

pytestmark = pytest.mark.integration
TIMEOUT = 0.5


class Behaviour(BaseHTTPRequestHandler):
    """Answers an export request as `server.behaviour` says: ok, slow or broken."""

    server: StandIn

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        if self.server.behaviour == "slow":
            time.sleep(TIMEOUT * 8)
        if self.server.behaviour == "broken":
            self._send(503, {"title": "Service Unavailable", "status": 503})
            return
        customer_id = self.path.split("/")[-2]
        self._send(
            200,
            {
                "service": "stand-in",
                "customer_id": customer_id,
                "truncated": ["deliveries"],
                "data": {"contact": {"email": "jane@example.com"}, "deliveries": []},
            },
        )

    def _send(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except OSError:  # the slow one's caller has given up
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: str) -> None:
        super().__init__(("127.0.0.1", 0), Behaviour)
        self.behaviour = behaviour
        self.seen: list[tuple[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def closed_port_url() -> str:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[dict[str, StandIn]]:
    servers = {name: StandIn(name) for name in ("ok", "slow", "broken")}
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers.values()]
    for thread in threads:
        thread.start()
    yield servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
async def exporting_app(
    service_settings: ServiceSettings, stand_ins: dict[str, StandIn]
) -> AsyncIterator[FastAPI]:
    """The profile app, its export pointed at the stand-ins (no consumers)."""
    assert isinstance(service_settings, ProfileSettings)
    settings = service_settings.model_copy(
        update={
            "notifications_url": stand_ins["ok"].url,
            "loyalty_url": stand_ins["slow"].url,
            "segmentation_url": stand_ins["broken"].url,
            "identity_url": closed_port_url(),
            "export_timeout_seconds": TIMEOUT,
        }
    )
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    await runtime.point_reads.open()
    try:
        yield app
    finally:
        await runtime.point_reads.close()
        await runtime.engine.dispose()


@pytest.fixture
async def exporter(exporting_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=exporting_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://profile") as http:
        yield http


async def a_customer_with_a_note(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post(
        "/api/v1/customers",
        json={"email": f"{uuid.uuid4().hex}@example.com", "first_name": "Jane", "tags": ["vip"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    customer_id: str = created.json()["id"]
    note = await client.post(
        f"/api/v1/customers/{customer_id}/notes",
        json={"type": "general", "body": "prefers email"},
        headers=headers,
    )
    assert note.status_code == 201, note.text
    return customer_id


async def test_the_export_names_each_service_that_did_not_answer_and_why(
    client: httpx.AsyncClient, exporter: httpx.AsyncClient
) -> None:
    headers = bearer_headers(unique_tenant())
    customer_id = await a_customer_with_a_note(client, headers)

    started = time.monotonic()
    response = await exporter.get(f"/api/v1/customers/{customer_id}/export", headers=headers)

    assert response.status_code == 200, response.text
    # the slow service is given up on at TIMEOUT (it would answer after 8 x TIMEOUT);
    # the margin is for a loaded machine
    assert time.monotonic() - started < TIMEOUT * 6
    document = response.json()
    assert sorted(document["missing"], key=lambda m: m["service"]) == [
        {"service": "identity", "reason": "unreachable"},
        {"service": "loyalty", "reason": "timeout"},
        {"service": "segmentation", "reason": "HTTP 503"},
    ]
    assert document["complete"] is False
    services = document["services"]
    assert services["identity"] is None
    assert services["loyalty"] is None
    assert services["segmentation"] is None
    assert services["notifications"]["contact"] == {"email": "jane@example.com"}
    assert {"service": "notifications", "part": "deliveries"} in document["truncated"]


async def test_the_profile_part_holds_the_customer_notes_and_tags(
    client: httpx.AsyncClient, exporter: httpx.AsyncClient
) -> None:
    headers = bearer_headers(unique_tenant())
    customer_id = await a_customer_with_a_note(client, headers)

    response = await exporter.get(f"/api/v1/customers/{customer_id}/export", headers=headers)

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["customer_id"] == customer_id
    profile = document["services"]["profile"]
    assert profile["customer"]["id"] == customer_id
    assert profile["customer"]["first_name"] == "Jane"
    assert "tenant_id" not in profile["customer"]
    assert [note["body"] for note in profile["notes"]] == ["prefers email"]
    assert [tag["tag"] for tag in profile["tags"]] == ["vip"]
    assert profile["orders"] == []
    assert [entry["kind"] for entry in profile["timeline"]] == ["note_added"]
    # who changed the customer, newest first: the note, then its creation, by the caller
    changes = [(entry["action"], entry["actor"]) for entry in profile["access_log"]]
    assert changes[0] == ("note", "dev-user")
    assert changes[-1] == ("create", "dev-user")


async def test_the_callers_token_is_forwarded_to_each_service(
    client: httpx.AsyncClient, exporter: httpx.AsyncClient, stand_ins: dict[str, StandIn]
) -> None:
    headers = bearer_headers(unique_tenant())
    customer_id = await a_customer_with_a_note(client, headers)

    response = await exporter.get(f"/api/v1/customers/{customer_id}/export", headers=headers)

    assert response.status_code == 200, response.text
    path = f"/internal/v1/customers/{customer_id}/export"
    assert (path, headers["Authorization"]) in stand_ins["ok"].seen


async def test_an_unknown_customer_is_not_found(exporter: httpx.AsyncClient) -> None:
    response = await exporter.get(
        f"/api/v1/customers/{uuid.uuid4()}/export", headers=bearer_headers(unique_tenant())
    )

    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_export_needs_the_customers_export_scope(exporter: httpx.AsyncClient) -> None:
    tenant = unique_tenant()
    path = f"/api/v1/customers/{uuid.uuid4()}/export"

    support = await exporter.get(path, headers=bearer_headers(tenant, "support"))
    bad_id = await exporter.get(
        "/api/v1/customers/not-an-id/export", headers=bearer_headers(tenant)
    )

    assert support.status_code == 403, support.text
    assert bad_id.status_code == 422, bad_id.text


async def test_an_export_is_recorded_in_the_customers_audit_log(
    client: httpx.AsyncClient, exporter: httpx.AsyncClient
) -> None:
    tenant = unique_tenant()
    admin = bearer_headers(tenant)
    created = await client.post(
        "/api/v1/customers", json={"email": f"{uuid.uuid4().hex}@example.com"}, headers=admin
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]

    response = await exporter.get(
        f"/api/v1/customers/{customer_id}/export",
        headers=bearer_headers(tenant, "manager", subject="dpo-7"),
    )

    assert response.status_code == 200, response.text
    audit = await client.get(f"/api/v1/customers/{customer_id}/audit", headers=admin)
    assert audit.status_code == 200, audit.text
    entries = audit.json()["data"]
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("dpo-7", "export"),
        ("dev-user", "create"),
    ]
    assert entries[0]["at"].startswith(response.json()["exported_at"][:19])
    assert entries[0]["request_id"]
