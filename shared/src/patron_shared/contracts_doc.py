"""Generate the published message contracts under docs/contracts from the pydantic models.

One JSON Schema (draft 2020-12) per message type describes the whole envelope with that
type's `data`, and one AsyncAPI 3.0 document lists every topic, its dead-letter twin, the
messages and who produces them. The output is deterministic so that a test can compare the
committed files byte for byte.

    uv run python -m patron_shared.contracts_doc          # (re)write docs/contracts
    uv run python -m patron_shared.contracts_doc --check  # exit 1 if they drifted
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from patron_shared.events import CLOUDEVENTS_CONTENT_TYPE, CONTRACTS, Contract, Envelope, Topic

JsonSchema = dict[str, Any]

CONTRACTS_DIR = "docs/contracts"
SCHEMAS_DIR = f"{CONTRACTS_DIR}/schemas"
ASYNCAPI_PATH = f"{CONTRACTS_DIR}/asyncapi.yaml"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KAFKA_BINDING_VERSION = "0.5.0"
REGENERATE_COMMAND = "uv run python -m patron_shared.contracts_doc"

# Who publishes each topic, as in the topic table of the architecture document.
TOPIC_PRODUCERS: dict[Topic, str] = {
    Topic.CUSTOMER_EVENTS: "profile",
    Topic.CUSTOMER_COMMANDS: (
        "identity-merge (matching and source connectors), notifications (consents)"
    ),
    Topic.ORDER_EVENTS: "external order services",
    Topic.IDENTITY_EVENTS: "identity-merge",
    Topic.SEGMENT_EVENTS: "segmentation",
    Topic.LOYALTY_EVENTS: "loyalty",
    Topic.NOTIFICATION_COMMANDS: "any Patron service",
    Topic.NOTIFICATION_EVENTS: "notifications",
    Topic.ERASURE_EVENTS: "identity-merge, segmentation, loyalty, notifications",
}

TOPIC_DESCRIPTIONS: dict[Topic, str] = {
    Topic.CUSTOMER_EVENTS: "Changes to the customer record of truth.",
    Topic.CUSTOMER_COMMANDS: (
        "Requests for profile to merge or upsert customers, or to record a consent."
    ),
    Topic.ORDER_EVENTS: (
        "Orders placed, paid, refunded and cancelled. Every message must carry a Patron "
        "customer_id, obtained via POST /api/v1/identity/resolve."
    ),
    Topic.IDENTITY_EVENTS: "Suspected duplicates, merge decisions and unmerges.",
    Topic.SEGMENT_EVENTS: "Segment membership, VIP status and per-customer predictions.",
    Topic.LOYALTY_EVENTS: "The points ledger, tiers and store credit.",
    Topic.NOTIFICATION_COMMANDS: "Requests to send an email or SMS to a customer.",
    Topic.NOTIFICATION_EVENTS: "What happened to each notification.",
    Topic.ERASURE_EVENTS: (
        "Each service's acknowledgement that it erased its copy of a customer (profile "
        "tracks them per erasure)."
    ),
}

# Headers a consumer adds when it dead-letters a message (patron_shared.messaging.dead_letters);
# the original headers are kept alongside.
DLQ_HEADERS: dict[str, JsonSchema] = {
    "x-dlq-error-type": {"type": "string", "description": "Exception class name"},
    "x-dlq-error-message": {
        "type": "string",
        "maxLength": 2000,
        "description": "The error, truncated to 2000 characters",
    },
    "x-dlq-original-topic": {"type": "string", "description": "Topic the message came from"},
    "x-dlq-original-partition": {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "Partition it was read from (decimal)",
    },
    "x-dlq-original-offset": {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "Offset it was read at (decimal)",
    },
    "x-dlq-consumer-group": {"type": "string", "description": "Consumer that gave up on it"},
    "x-dlq-attempts": {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "How many times the handler was tried (decimal)",
    },
    "x-dlq-failed-at": {
        "type": "string",
        "format": "date-time",
        "description": "When it was dead-lettered (ISO 8601, UTC)",
    },
}

_MESSAGE_HEADERS: JsonSchema = {
    "type": "object",
    "properties": {
        "content-type": {"type": "string", "const": CLOUDEVENTS_CONTENT_TYPE},
        "traceparent": {"type": "string", "description": "W3C trace context"},
        "tracestate": {"type": "string", "description": "W3C trace context"},
    },
}


def _contracts() -> list[type[Contract]]:
    # The registry iterates in (topic, type) order, which keeps every output stable.
    contracts: list[type[Contract]] = list(CONTRACTS)
    return contracts


def _contracts_on(topic: Topic) -> list[type[Contract]]:
    return [contract for contract in _contracts() if contract.topic is topic]


def _docstring_summary(contract: type[Contract]) -> str:
    # Only the class's own docstring: an undocumented contract must not inherit Contract's.
    doc = (contract.__dict__.get("__doc__") or "").strip()
    first_paragraph = doc.split("\n\n")[0]
    return " ".join(first_paragraph.split())


def _message_summary(contract: type[Contract]) -> str:
    return _docstring_summary(contract) or f"The {contract.event_type} {contract.kind}."


def _schema_description(contract: type[Contract]) -> str:
    description = (
        f"The {contract.event_type} {contract.kind} on `{contract.topic.value}`: a CloudEvents "
        f"envelope ({CLOUDEVENTS_CONTENT_TYPE}) whose Kafka key is data.customer_id."
    )
    summary = _docstring_summary(contract)
    return f"{description} {summary}" if summary else description


def _key_schema() -> JsonSchema:
    return {
        "type": "string",
        "format": "uuid",
        "description": "The customer_id of the message (equal to the envelope subject)",
    }


def schema_path(contract: type[Contract]) -> str:
    return f"{SCHEMAS_DIR}/{contract.topic.value}/{contract.event_type}.json"


def envelope_schema(contract: type[Contract]) -> JsonSchema:
    """The JSON Schema of a whole envelope whose `data` is `contract`."""
    data = contract.model_json_schema(mode="serialization")
    envelope = Envelope.model_json_schema(mode="serialization")
    # Both schemas' `$ref`s point at `#/$defs/...` of their own document, so the nested
    # models move to the root of the combined one.
    definitions: JsonSchema = {**envelope.pop("$defs", {})}
    for name, definition in data.pop("$defs", {}).items():
        if name in definitions and definitions[name] != definition:
            raise ValueError(f"{contract.event_type}: two different schemas named {name!r}")
        definitions[name] = definition
    envelope["properties"]["type"] = {
        "const": contract.event_type,
        "description": "The message type",
        "title": "Type",
        "type": "string",
    }
    envelope["properties"]["data"] = data
    schema: JsonSchema = {
        "$schema": JSON_SCHEMA_DIALECT,
        **envelope,
        "title": contract.event_type,
        "description": _schema_description(contract),
    }
    if definitions:
        schema["$defs"] = definitions
    return schema


def _json_text(document: JsonSchema) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _channel_id(topic: Topic) -> str:
    return topic.name.lower()


def _dlq_channel_id(topic: Topic) -> str:
    return f"{_channel_id(topic)}_dlq"


def _component_schemas(contracts: Iterable[type[Contract]]) -> JsonSchema:
    """Every contract and nested model once, with refs into `components/schemas`."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Envelope, "serialization")]
    models += [(contract, "serialization") for contract in contracts]
    _, definitions = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas: JsonSchema = definitions["$defs"]
    return {name: schemas[name] for name in sorted(schemas)}


def _message(contract: type[Contract]) -> JsonSchema:
    return {
        "name": contract.event_type,
        "title": contract.event_type,
        "summary": _message_summary(contract),
        "contentType": CLOUDEVENTS_CONTENT_TYPE,
        "headers": copy.deepcopy(_MESSAGE_HEADERS),
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/Envelope"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "const": contract.event_type},
                        "data": {"$ref": f"#/components/schemas/{contract.event_type}"},
                    },
                },
            ]
        },
        "bindings": {"kafka": {"key": _key_schema(), "bindingVersion": KAFKA_BINDING_VERSION}},
        "x-json-schema": schema_path(contract).removeprefix(f"{CONTRACTS_DIR}/"),
    }


def _dead_letter_message() -> JsonSchema:
    return {
        "name": "DeadLetter",
        "title": "Dead letter",
        "summary": "A message a consumer could not process, with the error in its headers.",
        "description": (
            "The value, key and headers are the original message's, byte for byte (usually "
            "an envelope, but it may be anything the consumer failed to decode), plus the "
            "x-dlq-* headers. The CLI replays dead letters to their original topic."
        ),
        "contentType": CLOUDEVENTS_CONTENT_TYPE,
        "headers": {
            "type": "object",
            "required": list(DLQ_HEADERS),
            "properties": copy.deepcopy(DLQ_HEADERS),
        },
        "payload": {"description": "The original message value, unchanged"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original message key"},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _channels() -> JsonSchema:
    channels: JsonSchema = {}
    for topic in Topic:
        channels[_channel_id(topic)] = {
            "address": topic.value,
            "title": topic.value,
            "description": TOPIC_DESCRIPTIONS[topic] + " Keyed by customer_id.",
            "messages": {
                contract.event_type: {"$ref": f"#/components/messages/{contract.event_type}"}
                for contract in _contracts_on(topic)
            },
            "bindings": {"kafka": {"topic": topic.value, "bindingVersion": KAFKA_BINDING_VERSION}},
        }
        channels[_dlq_channel_id(topic)] = {
            "address": topic.dlq,
            "title": topic.dlq,
            "description": f"Dead letters of {topic.value}: messages that failed permanently.",
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
            "bindings": {"kafka": {"topic": topic.dlq, "bindingVersion": KAFKA_BINDING_VERSION}},
        }
    return channels


def _operation(
    action: str, channel_id: str, message_names: list[str], title: str, description: str
) -> JsonSchema:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel_id}"},
        "title": title,
        "description": description,
        "messages": [
            {"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in message_names
        ],
    }


def _operations() -> JsonSchema:
    operations: JsonSchema = {}
    for topic in Topic:
        channel_id = _channel_id(topic)
        names = [contract.event_type for contract in _contracts_on(topic)]
        producer = TOPIC_PRODUCERS[topic]
        operations[f"send_{channel_id}"] = _operation(
            "send",
            channel_id,
            names,
            f"{producer} publishes to {topic.value}",
            f"Produced by {producer}, through its transactional outbox where it is a "
            "Patron service.",
        )
        operations[f"receive_{channel_id}"] = _operation(
            "receive",
            channel_id,
            names,
            f"Patron services consume {topic.value}",
            "Idempotent consumers: the same envelope id delivered twice has one effect.",
        )
        dlq_id = _dlq_channel_id(topic)
        operations[f"send_{dlq_id}"] = _operation(
            "send",
            dlq_id,
            ["DeadLetter"],
            f"Consumers of {topic.value} dead-letter to {topic.dlq}",
            "Any consumer, after a validation failure or exhausted retries.",
        )
        operations[f"receive_{dlq_id}"] = _operation(
            "receive",
            dlq_id,
            ["DeadLetter"],
            f"Operators replay {topic.dlq}",
            "The patron CLI lists dead letters and republishes them to the original topic.",
        )
    return operations


def asyncapi_document() -> JsonSchema:
    contracts = _contracts()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Patron events and commands",
            "version": "1",
            "description": (
                "Every Patron topic. Each message value is one CloudEvents envelope in "
                "structured mode; the Kafka key is the customer_id, so one customer's "
                "messages stay ordered. Changes are additive; a breaking change is a new "
                ".v2 topic. Generated by `" + REGENERATE_COMMAND + "`; do not edit."
            ),
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "channels": _channels(),
        "operations": _operations(),
        "components": {
            "schemas": _component_schemas(contracts),
            "messages": {
                **{contract.event_type: _message(contract) for contract in contracts},
                "DeadLetter": _dead_letter_message(),
            },
        },
    }


def _yaml_text(document: JsonSchema) -> str:
    # Wide lines so regex patterns and descriptions are never folded.
    text: str = yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False
    )
    return text


def generate() -> dict[str, str]:
    """Every generated file under docs/contracts: path relative to the repository -> text."""
    files = {schema_path(c): _json_text(envelope_schema(c)) for c in _contracts()}
    files[ASYNCAPI_PATH] = _yaml_text(asyncapi_document())
    return dict(sorted(files.items()))


def stale_files(root: Path, generated: dict[str, str]) -> list[str]:
    """Files under docs/contracts/schemas that no contract generates any more."""
    schemas_dir = root / SCHEMAS_DIR
    if not schemas_dir.exists():
        return []
    on_disk = (p.relative_to(root).as_posix() for p in schemas_dir.rglob("*") if p.is_file())
    return sorted(path for path in on_disk if path not in generated)


def drifted_files(root: Path) -> list[str]:
    """Generated files that are missing or differ on disk, and stale ones."""
    generated = generate()
    drifted = [
        path
        for path, text in generated.items()
        if not (root / path).is_file() or (root / path).read_bytes() != text.encode()
    ]
    return sorted(drifted + stale_files(root, generated))


def write(root: Path) -> list[str]:
    """Write every generated file and delete stale schemas; returns the paths touched."""
    generated = generate()
    touched: list[str] = []
    for path in stale_files(root, generated):
        (root / path).unlink()
        touched.append(path)
    for path, text in generated.items():
        target = root / path
        if target.is_file() and target.read_bytes() == text.encode():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode())
        touched.append(path)
    for directory in sorted((root / SCHEMAS_DIR).rglob("*"), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
    return sorted(touched)


def _repository_root() -> Path:
    # This file sits in shared/src/patron_shared; the workspace root holds [tool.uv.workspace].
    for candidate in Path(__file__).resolve().parents:
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and "[tool.uv.workspace]" in pyproject.read_text():
            return candidate
    return Path.cwd()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if docs/contracts is out of date"
    )
    parser.add_argument("--root", type=Path, default=None, help="repository root")
    args = parser.parse_args(argv)
    root: Path = args.root or _repository_root()

    if args.check:
        drifted = drifted_files(root)
        if drifted:
            print("docs/contracts is out of date:", file=sys.stderr)
            for path in drifted:
                print(f"  {path}", file=sys.stderr)
            print(f"regenerate with: {REGENERATE_COMMAND}", file=sys.stderr)
            return 1
        print("docs/contracts is up to date")
        return 0

    touched = write(root)
    for path in touched:
        print(f"wrote {path}" if (root / path).exists() else f"removed {path}")
    print(f"{len(touched)} file(s) changed under {CONTRACTS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
