"""The published contracts under docs/contracts match the pydantic models."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaValidationError
from pydantic import ValidationError

from patron_shared import contracts_doc
from patron_shared.events import CONTRACTS, Contract, Envelope, OrderPlaced, Topic
from patron_shared.messaging.dead_letters import dead_letter_headers

REPO_ROOT = Path(__file__).resolve().parents[3]
CUSTOMER_ID = "3d6f4c2e-8a1b-4f7e-9c3d-5e2a1b0c9d8f"

# The example of ARCHITECTURE.md ("External contract: order events"), with its
# placeholders ("8f0c...uuid", "<customer_id>", "<uuid>") filled in.
ARCHITECTURE_ORDER_PLACED: dict[str, Any] = {
    "specversion": "1.0",
    "id": "8f0c2a8e-5b7d-4e43-9a51-2f1f0f7c9d10",
    "type": "OrderPlaced",
    "source": "orders-service",
    "time": "2026-11-20T10:15:00Z",
    "tenant_id": "demo",
    "subject": CUSTOMER_ID,
    "schema_version": 1,
    "correlation_id": None,
    "causation_id": None,
    "data": {
        "order_id": "1234",
        "customer_id": CUSTOMER_ID,
        "currency": "USD",
        "total": "125.00",
        "items": [
            {
                "sku": "TS-BLUE-M",
                "name": "Blue T-Shirt",
                "category": "Clothing",
                "quantity": 1,
                "unit_price": "25.00",
            }
        ],
        "placed_at": "2026-11-20T10:14:58Z",
    },
}


def _readme_example() -> dict[str, Any]:
    readme = (REPO_ROOT / "docs/contracts/README.md").read_text()
    match = re.search(r"```json\n(.*?)```", readme, re.DOTALL)
    assert match, "docs/contracts/README.md lost its JSON example"
    example: dict[str, Any] = json.loads(match.group(1))
    return example


def _validator(contract: type[Contract]) -> Draft202012Validator:
    schema = json.loads((REPO_ROOT / contracts_doc.schema_path(contract)).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_committed_contract_docs_equal_the_generated_ones() -> None:
    drifted = contracts_doc.drifted_files(REPO_ROOT)
    assert not drifted, (
        f"docs/contracts is out of date: {drifted}. "
        f"Regenerate with `{contracts_doc.REGENERATE_COMMAND}` and commit the result."
    )


def test_generation_is_deterministic_and_ends_every_file_with_a_newline() -> None:
    first, second = contracts_doc.generate(), contracts_doc.generate()
    assert first == second
    assert all(text.endswith("\n") for text in first.values())


@pytest.mark.parametrize("contract", list(CONTRACTS), ids=lambda c: c.event_type)
def test_every_contract_has_a_valid_schema_file_fixing_its_type(
    contract: type[Contract],
) -> None:
    path = REPO_ROOT / contracts_doc.schema_path(contract)
    assert path.is_file(), f"no schema for {contract.event_type} at {path}"
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["type"]["const"] == contract.event_type
    assert "customer_id" in schema["properties"]["data"]["required"]


@pytest.mark.parametrize(
    "example",
    [ARCHITECTURE_ORDER_PLACED, _readme_example()],
    ids=["architecture", "contracts-readme"],
)
def test_the_documented_order_placed_example_is_valid_for_pydantic_and_the_schema(
    example: dict[str, Any],
) -> None:
    envelope = Envelope.model_validate(example)
    order = CONTRACTS.parse_data(envelope)
    assert isinstance(order, OrderPlaced)
    assert envelope.subject == order.subject()

    _validator(OrderPlaced).validate(example)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("type",), "OrderPaid"),
        (("data", "total"), 125.0),
        (("data", "total"), "-1.00"),
        (("data", "currency"), "US"),
        (("tenant_id",), "Demo Tenant"),
        (("id",), "not-a-uuid"),
    ],
)
def test_the_order_placed_schema_rejects_what_pydantic_rejects(
    path: tuple[str, ...], value: object
) -> None:
    broken = copy.deepcopy(ARCHITECTURE_ORDER_PLACED)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    with pytest.raises(SchemaValidationError):
        _validator(OrderPlaced).validate(broken)
    with pytest.raises(ValidationError):
        CONTRACTS.parse_data(Envelope.model_validate(broken))


def test_money_is_published_as_a_decimal_string_everywhere() -> None:
    schema = json.loads((REPO_ROOT / contracts_doc.schema_path(OrderPlaced)).read_text())
    total = schema["properties"]["data"]["properties"]["total"]
    assert total["type"] == "string"
    leaked = {"ge", "gt", "decimal_places", "max_digits"}
    for text in contracts_doc.generate().values():
        assert not any(f'"{keyword}"' in text for keyword in leaked)


def test_asyncapi_lists_every_topic_and_its_dead_letters_keyed_by_customer() -> None:
    document = yaml.safe_load((REPO_ROOT / contracts_doc.ASYNCAPI_PATH).read_text())
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {name for topic in Topic for name in (topic.value, topic.dlq)}

    messages = document["components"]["messages"]
    for contract in CONTRACTS:
        message = messages[contract.event_type]
        assert message["contentType"] == "application/cloudevents+json"
        assert message["bindings"]["kafka"]["key"]["format"] == "uuid"


def test_asyncapi_send_operations_name_the_producer_of_each_topic() -> None:
    document = yaml.safe_load((REPO_ROOT / contracts_doc.ASYNCAPI_PATH).read_text())
    send_order_events = document["operations"]["send_order_events"]
    assert send_order_events["action"] == "send"
    assert "external order services" in send_order_events["title"]
    assert "segmentation" in document["operations"]["send_segment_events"]["title"]


def test_published_dead_letter_headers_are_the_ones_consumers_write() -> None:
    written = dead_letter_headers(
        error=ValueError("boom"),
        topic=Topic.ORDER_EVENTS.value,
        partition=0,
        offset=1,
        consumer="profile",
        attempts=1,
    )
    assert set(contracts_doc.DLQ_HEADERS) == set(written)


def test_check_reports_a_hand_edited_schema_and_a_stale_one(tmp_path: Path) -> None:
    contracts_doc.write(tmp_path)
    edited = tmp_path / contracts_doc.schema_path(OrderPlaced)
    edited.write_text(edited.read_text().replace("OrderItem", "LineItem"))
    stale = tmp_path / contracts_doc.SCHEMAS_DIR / "patron.order.events.v1" / "OrderLost.json"
    stale.write_text("{}\n")

    assert contracts_doc.main(["--check", "--root", str(tmp_path)]) == 1
    assert contracts_doc.drifted_files(tmp_path) == sorted(
        [contracts_doc.schema_path(OrderPlaced), stale.relative_to(tmp_path).as_posix()]
    )

    assert contracts_doc.main(["--root", str(tmp_path)]) == 0
    assert not stale.exists()
    assert contracts_doc.main(["--check", "--root", str(tmp_path)]) == 0
