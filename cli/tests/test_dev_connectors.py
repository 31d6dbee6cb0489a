"""`stack up` registers tenant demo's development connectors once and reuses them after."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from patron_cli import demo
from patron_cli.config import StackConfig
from patron_cli.stack import write_env_file

GATEWAY = "http://127.0.0.1:8080"
JWT_SECRET = "a-stack-jwt-secret"


class FakeConnectorsApi:
    """The connector endpoints of the identity service, in memory."""

    def __init__(self) -> None:
        self.connectors: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, str] = {}
        self.writes: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path == demo.CONNECTORS_PATH:
            return httpx.Response(
                200, json={"data": list(self.connectors.values()), "meta": {"next_cursor": None}}
            )
        body = json.loads(request.content or b"{}")
        self.writes.append(f"{request.method} {path}")
        if request.method == "POST" and path == demo.CONNECTORS_PATH:
            connector_id = str(uuid.uuid4())
            self.connectors[connector_id] = {
                "id": connector_id,
                "source": body["source"],
                "account": body["account"],
                "secret_hint": "…" + body["secret"][-4:],
            }
            self.secrets[connector_id] = body["secret"]
            return httpx.Response(201, json=self.connectors[connector_id])
        connector_id = path.split("/")[-2]
        self.connectors[connector_id]["secret_hint"] = "…" + body["secret"][-4:]
        self.secrets[connector_id] = body["secret"]
        return httpx.Response(200, json=self.connectors[connector_id])


def ensure(api: FakeConnectorsApi) -> dict[str, str]:
    return demo.ensure_dev_connectors(
        GATEWAY, "token", JWT_SECRET, transport=httpx.MockTransport(api.handle)
    )


def test_the_first_stack_up_registers_one_connector_per_source() -> None:
    api = FakeConnectorsApi()

    env = ensure(api)

    assert sorted(c["source"] for c in api.connectors.values()) == [
        "generic",
        "shopify",
        "whatsapp",
        "woocommerce",
    ]
    shopify = next(c for c in api.connectors.values() if c["source"] == "shopify")
    assert env["PATRON_SHOPIFY_WEBHOOK_URL"] == (
        f"{GATEWAY}/api/v1/identity/webhooks/{shopify['id']}"
    )
    assert env["PATRON_SHOPIFY_SECRET"] == api.secrets[shopify["id"]]
    assert env["PATRON_WHATSAPP_VERIFY_TOKEN"]
    assert {"PATRON_WOOCOMMERCE_SECRET", "PATRON_WHATSAPP_SECRET"} <= set(env)


def test_a_later_stack_up_reuses_the_connectors_and_writes_the_same_env() -> None:
    api = FakeConnectorsApi()
    first = ensure(api)
    writes = len(api.writes)

    again = ensure(api)

    assert again == first
    assert len(api.writes) == writes


def test_a_rotated_development_secret_is_set_back() -> None:
    api = FakeConnectorsApi()
    first = ensure(api)
    shopify_id = first["PATRON_SHOPIFY_WEBHOOK_URL"].rsplit("/", 1)[1]
    api.connectors[shopify_id]["secret_hint"] = "…zzzz"

    again = ensure(api)

    assert again == first
    assert api.writes[-1] == f"POST {demo.CONNECTORS_PATH}/{shopify_id}/rotate-secret"
    assert api.secrets[shopify_id] == first["PATRON_SHOPIFY_SECRET"]


def test_the_connectors_land_in_the_stacks_env_file(tmp_path: Path) -> None:
    config = StackConfig(stack_dir=tmp_path)

    write_env_file(config, infra_only=False, extra={"PATRON_SHOPIFY_SECRET": "s3cret"})

    lines = config.env_file.read_text().splitlines()
    assert "PATRON_SHOPIFY_SECRET=s3cret" in lines
    assert any(line.startswith("PATRON_GATEWAY_URL=") for line in lines)
