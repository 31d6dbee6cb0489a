"""The customer timeline and audit log: what one entry says, built from the events and
changes that make it. Pure: no I/O.

A timeline entry's summary holds what a reader needs to see what happened (ids, amounts,
channels, points) and no more personal data: no email, phone, name, note body or error
text (which may quote an address).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from patron_shared.events import (
    ConsentChanged,
    Contract,
    CreditApplied,
    CreditIssued,
    CustomersMerged,
    CustomersUnmerged,
    NotificationDelivered,
    NotificationFailed,
    NotificationSent,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    PointsAdjusted,
    PointsEarned,
    PointsExpired,
    PointsRedeemed,
    PointsReversed,
    TierChanged,
)

TimelineKind = Literal[
    "order_placed",
    "order_paid",
    "order_refunded",
    "order_cancelled",
    "note_added",
    "consent_changed",
    "customers_merged",
    "customers_unmerged",
    "notification_sent",
    "notification_failed",
    "notification_delivered",
    "points_earned",
    "points_redeemed",
    "points_expired",
    "points_adjusted",
    "points_reversed",
    "tier_changed",
    "credit_issued",
    "credit_applied",
]
TIMELINE_KINDS: tuple[str, ...] = get_args(TimelineKind)

AuditAction = Literal[
    "read_pii",
    "export",  # a GDPR export: every service's data on the customer
    "create",
    "update",
    "delete",
    "erase",
    "merge",
    "tags",
    "consent",
    "address",
    "note",
    "metadata",
]
AUDIT_ACTIONS: tuple[str, ...] = get_args(AuditAction)


@dataclass(frozen=True)
class TimelineEntry:
    entry_id: uuid.UUID
    customer_id: uuid.UUID
    kind: TimelineKind
    occurred_at: datetime
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    customer_id: uuid.UUID
    actor: str
    action: AuditAction
    at: datetime
    fields: tuple[str, ...] = ()
    request_id: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


_Made = tuple[TimelineKind, datetime, dict[str, Any]]


def _money(value: Any) -> str:
    return str(value)


def _order_placed(e: OrderPlaced) -> _Made:
    summary = {
        "order_id": e.order_id,
        "order_number": e.order_number,
        "total": _money(e.total),
        "currency": e.currency,
        "items": sum(item.quantity for item in e.items),
    }
    return "order_placed", e.placed_at, summary


def _order_paid(e: OrderPaid) -> _Made:
    summary = {"order_id": e.order_id, "amount": _money(e.amount), "currency": e.currency}
    return "order_paid", e.paid_at, summary


def _order_refunded(e: OrderRefunded) -> _Made:
    summary = {"order_id": e.order_id, "amount": _money(e.amount), "currency": e.currency}
    return "order_refunded", e.refunded_at, summary


def _order_cancelled(e: OrderCancelled) -> _Made:
    return "order_cancelled", e.cancelled_at, {"order_id": e.order_id}


def _consent_changed(e: ConsentChanged) -> _Made:
    summary = {"channel": e.channel, "purpose": e.purpose, "granted": e.granted, "source": e.source}
    return "consent_changed", e.changed_at, summary


def _merged(e: CustomersMerged) -> _Made:
    summary = {
        "merged_customer_id": str(e.merged_customer_id),
        "merged_by": e.merged_by,
        "rule": e.rule,
    }
    return "customers_merged", e.merged_at, summary


def _unmerged(e: CustomersUnmerged) -> _Made:
    summary = {"restored_customer_id": str(e.restored_customer_id), "unmerged_by": e.unmerged_by}
    return "customers_unmerged", e.unmerged_at, summary


def _sent(e: NotificationSent) -> _Made:
    return "notification_sent", e.sent_at, _notification(e)


def _failed(e: NotificationFailed) -> _Made:
    return "notification_failed", e.failed_at, _notification(e) | {"permanent": e.permanent}


def _delivered(e: NotificationDelivered) -> _Made:
    return "notification_delivered", e.delivered_at, _notification(e) | {"status": e.status}


def _earned(e: PointsEarned) -> _Made:
    summary = {"points": e.points, "balance": e.balance, "reason": e.reason, "order_id": e.order_id}
    return "points_earned", e.earned_at, summary


def _redeemed(e: PointsRedeemed) -> _Made:
    summary = {
        "points": e.points,
        "balance": e.balance,
        "discount": _money(e.discount),
        "currency": e.currency,
    }
    return "points_redeemed", e.redeemed_at, summary


def _expired(e: PointsExpired) -> _Made:
    return "points_expired", e.expired_at, {"points": e.points, "balance": e.balance}


def _adjusted(e: PointsAdjusted) -> _Made:
    summary = {"points": e.points, "balance": e.balance, "reason": e.reason, "actor": e.actor}
    return "points_adjusted", e.adjusted_at, summary


def _reversed(e: PointsReversed) -> _Made:
    summary = {"points": e.points, "balance": e.balance, "order_id": e.order_id, "reason": e.reason}
    return "points_reversed", e.reversed_at, summary


def _tier_changed(e: TierChanged) -> _Made:
    summary = {"previous_tier": e.previous_tier, "tier": e.tier, "direction": e.direction}
    return "tier_changed", e.changed_at, summary


def _credit_issued(e: CreditIssued) -> _Made:
    summary = {
        "amount": _money(e.amount),
        "currency": e.currency,
        "balance": _money(e.balance),
        "reason": e.reason,
    }
    return "credit_issued", e.issued_at, summary


def _credit_applied(e: CreditApplied) -> _Made:
    summary = {
        "amount": _money(e.amount),
        "currency": e.currency,
        "balance": _money(e.balance),
        "order_id": e.order_id,
    }
    return "credit_applied", e.applied_at, summary


# Event type -> how its entry is made (each function takes that event's contract).
_MAKERS: dict[str, Callable[[Any], _Made]] = {
    OrderPlaced.event_type: _order_placed,
    OrderPaid.event_type: _order_paid,
    OrderRefunded.event_type: _order_refunded,
    OrderCancelled.event_type: _order_cancelled,
    ConsentChanged.event_type: _consent_changed,
    CustomersMerged.event_type: _merged,
    CustomersUnmerged.event_type: _unmerged,
    NotificationSent.event_type: _sent,
    NotificationFailed.event_type: _failed,
    NotificationDelivered.event_type: _delivered,
    PointsEarned.event_type: _earned,
    PointsRedeemed.event_type: _redeemed,
    PointsExpired.event_type: _expired,
    PointsAdjusted.event_type: _adjusted,
    PointsReversed.event_type: _reversed,
    TierChanged.event_type: _tier_changed,
    CreditIssued.event_type: _credit_issued,
    CreditApplied.event_type: _credit_applied,
}


def timeline_entry(entry_id: uuid.UUID, event: Contract) -> TimelineEntry | None:
    """The timeline entry an event makes, or None for an event the timeline does not show."""
    make = _MAKERS.get(event.event_type)
    customer_id = getattr(event, "customer_id", None)
    if make is None or not isinstance(customer_id, uuid.UUID):
        return None
    kind, at, summary = make(event)
    return TimelineEntry(entry_id, customer_id, kind, at, summary)


def _notification(
    event: NotificationSent | NotificationFailed | NotificationDelivered,
) -> dict[str, Any]:
    return {
        "notification_id": str(event.notification_id),
        "channel": event.channel,
        "template": event.template,
        "category": event.category,
    }


# Profile's own events, as the audit log names the change they record.
_AUDIT_ACTIONS: dict[str, AuditAction] = {
    "CustomerCreated": "create",
    "CustomerUpdated": "update",
    "CustomerDeleted": "delete",
    "CustomerErased": "erase",
    "CustomersMerged": "merge",
    "TagsChanged": "tags",
    "ConsentChanged": "consent",
    "AddressChanged": "address",
}


def audit_change(event_type: str, fields: dict[str, Any]) -> tuple[AuditAction, tuple[str, ...]]:
    """The audit action for one of profile's events (given as its type and its fields), and
    the names of the fields it changed; ("update", ()) for an event not named here."""
    action = _AUDIT_ACTIONS.get(event_type, "update")
    if event_type == "CustomerUpdated":
        return action, tuple(fields.get("changed_fields") or ())
    if event_type == "TagsChanged":
        return action, ("tags",)
    if event_type == "ConsentChanged":
        return action, (f"consent.{fields.get('channel')}.{fields.get('purpose', 'marketing')}",)
    if event_type == "AddressChanged":
        return action, (f"address.{fields.get('change')}",)
    return action, ()
