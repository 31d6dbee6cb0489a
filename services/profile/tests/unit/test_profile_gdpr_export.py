"""Assembling the GDPR export from its parts, and reading a part over HTTP (no I/O)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from patron_profile.adapters.export import HttpExportParts
from patron_profile.service.gdpr_export import PartUnavailable, export_customer
from patron_shared.db.export import ExportDocument
from patron_shared.errors import NotFound


class OwnPart:
    def __init__(self, document: ExportDocument) -> None:
        self.document = document
        self.exports_recorded: list[tuple[uuid.UUID, datetime]] = []

    async def read(self, customer_id: uuid.UUID) -> ExportDocument:
        return self.document

    async def record_export(self, customer_id: uuid.UUID, at: datetime) -> None:
        self.exports_recorded.append((customer_id, at))


class RemoteParts:
    def __init__(self, parts: dict[str, dict[str, Any] | PartUnavailable]) -> None:
        self.parts = parts
        self.asked_with: list[str] = []

    async def fetch_all(
        self, customer_id: uuid.UUID, authorization: str
    ) -> dict[str, dict[str, Any] | PartUnavailable]:
        self.asked_with.append(authorization)
        return self.parts


async def test_every_answered_part_is_in_the_document_and_the_rest_are_named_missing() -> None:
    customer_id = uuid.uuid4()
    remote = RemoteParts(
        {
            "identity": {"data": {"identifiers": [{"kind": "email"}]}, "truncated": []},
            "loyalty": PartUnavailable("loyalty", "timeout"),
        }
    )

    own = OwnPart(ExportDocument(data={"customer": {"id": str(customer_id)}}))

    document = await export_customer(
        own,
        remote,
        customer_id,
        tenant_id="demo",
        authorization="Bearer x",
    )

    assert document["services"] == {
        "profile": {"customer": {"id": str(customer_id)}},
        "identity": {"identifiers": [{"kind": "email"}]},
        "loyalty": None,
    }
    assert document["missing"] == [{"service": "loyalty", "reason": "timeout"}]
    assert document["complete"] is False
    assert remote.asked_with == ["Bearer x"]
    # the export is audited, at the time the document states
    assert [(found, at.isoformat()) for found, at in own.exports_recorded] == [
        (customer_id, document["exported_at"])
    ]


async def test_a_customer_the_profile_never_knew_is_not_found() -> None:
    own = OwnPart(ExportDocument(data={"customer": None}))
    with pytest.raises(NotFound):
        await export_customer(
            own,
            RemoteParts({}),
            uuid.uuid4(),
            tenant_id="demo",
            authorization="",
        )
    assert own.exports_recorded == []


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(502), "HTTP 502"),
        (httpx.Response(403, json={"status": 403}), "HTTP 403"),
        (httpx.Response(200, text="<html>"), "invalid response"),
        (httpx.Response(200, json={"no": "data"}), "invalid response"),
    ],
)
async def test_a_part_that_is_not_a_document_is_missing(
    answer: httpx.Response, reason: str
) -> None:
    parts = HttpExportParts(
        {"loyalty": "http://loyalty"},
        timeout=1,
        transport=httpx.MockTransport(lambda request: answer),
    )

    found = await parts.fetch_all(uuid.uuid4(), "Bearer x")

    assert found == {"loyalty": PartUnavailable("loyalty", reason)}


async def test_a_part_is_asked_on_the_internal_path_with_the_callers_token() -> None:
    customer_id = uuid.uuid4()
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"contact": None}, "truncated": []})

    parts = HttpExportParts(
        {"notifications": "http://notifications:8005/"},
        timeout=1,
        transport=httpx.MockTransport(answer),
    )

    found = await parts.fetch_all(customer_id, "Bearer x")

    assert found == {"notifications": {"data": {"contact": None}, "truncated": []}}
    assert str(seen[0].url) == (
        f"http://notifications:8005/internal/v1/customers/{customer_id}/export"
    )
    assert seen[0].headers["Authorization"] == "Bearer x"
