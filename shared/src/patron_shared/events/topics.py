"""The topic registry: every Kafka topic Patron uses, and its dead-letter twin."""

from __future__ import annotations

from enum import StrEnum

DLQ_SUFFIX = ".dlq"


class Topic(StrEnum):
    CUSTOMER_EVENTS = "patron.customer.events.v1"
    CUSTOMER_COMMANDS = "patron.customer.commands.v1"
    ORDER_EVENTS = "patron.order.events.v1"
    IDENTITY_EVENTS = "patron.identity.events.v1"
    SEGMENT_EVENTS = "patron.segment.events.v1"
    LOYALTY_EVENTS = "patron.loyalty.events.v1"
    NOTIFICATION_COMMANDS = "patron.notification.commands.v1"
    NOTIFICATION_EVENTS = "patron.notification.events.v1"
    ERASURE_EVENTS = "patron.erasure.events.v1"

    @property
    def dlq(self) -> str:
        return dead_letter_topic(self.value)


def dead_letter_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def all_topic_names() -> list[str]:
    """Every topic with its `.dlq`, in a stable order (used to create them)."""
    names: list[str] = []
    for topic in Topic:
        names += [topic.value, topic.dlq]
    return names
