"""HTTP: RFC 9457 problems for every error, field-level validation, request ids, pages."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from patron_shared.http import PROBLEM_CONTENT_TYPE, Page, PageParams

from .http_app import ITEMS, build_app, client_for

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "request_id"}
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return build_app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body: dict[str, object] = response.json()
    assert body.keys() >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.mark.parametrize(
    ("request_line", "status", "title", "type_"),
    [
        ("GET /customers/c-9", 404, "Not Found", "urn:patron:problem:not-found"),
        ("POST /customers", 409, "Conflict", "urn:patron:problem:conflict"),
        ("GET /no/such/route", 404, "Not Found", "about:blank"),
        ("DELETE /orders", 405, "Method Not Allowed", "about:blank"),
        ("GET /explode", 500, "Internal Server Error", "about:blank"),
    ],
)
async def test_every_error_is_a_problem_document(
    client: httpx.AsyncClient, request_line: str, status: int, title: str, type_: str
) -> None:
    method, path = request_line.split()

    body = assert_problem(await client.request(method, path), status)

    assert (body["title"], body["type"]) == (title, type_)


async def test_a_domain_error_carries_its_detail_and_extensions(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/customers/c-9"), 404)

    assert body["detail"] == "customer c-9 not found"
    assert body["customer_id"] == "c-9"


async def test_an_unexpected_error_is_a_500_that_does_not_leak_the_exception(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/explode")

    body = assert_problem(response, 500)
    assert body["detail"] == "an unexpected error occurred"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text


async def test_invalid_input_names_the_field_it_rejects(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.post("/customers/email"), 422)

    assert body["type"] == "urn:patron:problem:validation-error"
    assert body["detail"] == "email: bad"
    assert body["errors"] == [
        {"location": "body", "field": "email", "message": "bad", "type": "value_error"}
    ]


@pytest.mark.parametrize(
    "payload", [{"count": "many"}, {}, {"count": None}, {"count": 1.5}], ids=repr
)
async def test_a_body_that_fails_validation_names_the_body_field(
    client: httpx.AsyncClient, payload: dict[str, object]
) -> None:
    body = assert_problem(await client.post("/orders", json=payload), 422)

    assert body["type"] == "urn:patron:problem:validation-error"
    errors = body["errors"]
    assert isinstance(errors, list)
    assert [(e["location"], e["field"]) for e in errors] == [("body", "count")]
    assert all(e["message"] and e["type"] for e in errors)
    assert str(body["detail"]).startswith("count: ")


async def test_every_invalid_body_field_is_listed(client: httpx.AsyncClient) -> None:
    response = await client.post("/orders", json={"count": "x", "note": 7})

    errors = assert_problem(response, 422)["errors"]
    assert isinstance(errors, list)
    assert sorted(e["field"] for e in errors) == ["count", "note"]


async def test_a_body_that_is_not_json_is_a_validation_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/orders", content=b"{oops", headers={"content-type": "application/json"}
    )

    errors = assert_problem(response, 422)["errors"]
    assert isinstance(errors, list)
    assert errors
    assert {e["location"] for e in errors} == {"body"}


async def test_a_valid_body_passes_validation(client: httpx.AsyncClient) -> None:
    response = await client.post("/orders", json={"count": 3})

    assert (response.status_code, response.json()) == (200, {"count": 3})


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("per_page=ten", "per_page"),
        ("page=0", "page"),
        ("page=-3", "page"),
    ],
)
async def test_a_bad_query_parameter_is_named_in_the_problem(
    client: httpx.AsyncClient, query: str, field: str
) -> None:
    body = assert_problem(await client.get(f"/items?{query}"), 422)

    errors = body["errors"]
    assert isinstance(errors, list)
    assert [(e["location"], e["field"]) for e in errors] == [("query", field)]
    assert str(body["detail"]).startswith(f"{field}: ")


# Request ids


async def test_a_safe_request_id_from_the_client_is_echoed_back(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/items", headers={"X-Request-ID": "req-2026.11:abc_1"})

    assert response.headers["x-request-id"] == "req-2026.11:abc_1"


async def test_a_request_id_of_exactly_128_safe_characters_is_kept(
    client: httpx.AsyncClient,
) -> None:
    longest = "a1._:-" * 21 + "zz"

    response = await client.get("/items", headers={"X-Request-ID": longest})

    assert len(longest) == 128
    assert response.headers["x-request-id"] == longest


@given(request_id=st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True))
async def test_any_safe_request_id_is_echoed_on_success_and_on_error(request_id: str) -> None:
    async with client_for(build_app()) as client:
        ok = await client.get("/items", headers={"X-Request-ID": request_id})
        failed = await client.get("/customers/x", headers={"X-Request-ID": request_id})

    assert ok.headers["x-request-id"] == request_id
    assert failed.headers["x-request-id"] == request_id
    assert failed.json()["request_id"] == request_id


@pytest.mark.parametrize(
    "unsafe",
    [
        b"has spaces in it",
        b"x" * 129,
        b"semi;colon",
        b"tab\tinside",
        b"<script>",
        "ünïcode".encode(),
        b"trailing-newline\n",
        b"not-utf8-\xff",
        b"",
    ],
    ids=[
        "spaces",
        "too-long",
        "semicolon",
        "tab",
        "markup",
        "non-ascii",
        "trailing-newline",
        "not-utf8",
        "empty",
    ],
)
async def test_an_unsafe_request_id_is_replaced_by_a_generated_one(
    client: httpx.AsyncClient, unsafe: bytes
) -> None:
    response = await client.get("/customers/x", headers={"X-Request-ID": unsafe})

    assert response.status_code == 404
    echoed = response.headers["x-request-id"]
    assert echoed.encode() != unsafe
    assert GENERATED_ID.match(echoed)
    assert response.json()["request_id"] == echoed


async def test_a_request_without_an_id_gets_a_fresh_one_each_time(
    client: httpx.AsyncClient,
) -> None:
    first, second = await client.get("/items"), await client.get("/items")

    assert GENERATED_ID.match(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_an_unexpected_error_still_echoes_the_request_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/explode", headers={"X-Request-ID": "trace-me-500"})

    assert response.headers["x-request-id"] == "trace-me-500"
    assert response.json()["request_id"] == "trace-me-500"


# Pagination


async def test_pages_use_the_default_size_and_report_their_position(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/items", params={"page": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == ITEMS[20:40]
    assert body["meta"] == {
        "current_page": 2,
        "per_page": 20,
        "total_pages": math.ceil(len(ITEMS) / 20),
        "total_items": len(ITEMS),
        "total_is_exact": True,
    }


async def test_a_page_past_the_end_is_empty_but_not_an_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/items", params={"page": 9, "per_page": 100})

    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["meta"]["total_pages"] == 1


@given(page=st.integers(min_value=1, max_value=10_000), per_page=st.integers(1, 100))
def test_the_page_offset_skips_every_earlier_page(page: int, per_page: int) -> None:
    params = PageParams(page=page, per_page=per_page)

    assert params.offset == sum(per_page for _ in range(page - 1))


@given(total_items=st.integers(min_value=0, max_value=10**6), per_page=st.integers(1, 100))
def test_total_pages_is_just_enough_pages_to_hold_every_item(
    total_items: int, per_page: int
) -> None:
    meta = Page[int].build([], PageParams(page=1, per_page=per_page), total_items).meta

    assert meta.total_items == total_items
    if total_items == 0:
        assert meta.total_pages == 0
    else:
        assert (meta.total_pages - 1) * per_page < total_items <= meta.total_pages * per_page
        assert meta.total_pages == math.ceil(total_items / per_page)


def test_a_count_stopped_at_its_limit_is_reported_as_a_lower_bound() -> None:
    params = PageParams(page=1, per_page=10)

    capped = Page[int].build(list(range(10)), params, total_items=101, count_limit=100)
    exact = Page[int].build(list(range(10)), params, total_items=100, count_limit=100)

    assert (capped.meta.total_items, capped.meta.total_is_exact) == (100, False)
    assert capped.meta.total_pages == 10
    assert (exact.meta.total_items, exact.meta.total_is_exact) == (100, True)
