"""The notifications command consumer: `patron.notification.commands.v1` -> the messages
other services ask for (`SendNotification`).

A command with variables the template cannot take is recorded as a failed delivery (see
`Triggers.send_requested`); one whose template key is malformed goes to the dead-letter
topic.
"""

from __future__ import annotations

from patron_notifications.adapters.uow import NotificationsUnitOfWork
from patron_notifications.service.triggers import Triggers
from patron_shared.events import SendNotification, Topic
from patron_shared.http import ServiceRuntime
from patron_shared.messaging import EventConsumer

COMMAND_CONSUMER = "notifications.commands"


def build_command_consumer(
    runtime: ServiceRuntime, triggers: Triggers
) -> EventConsumer[NotificationsUnitOfWork]:
    consumer = runtime.event_consumer(
        COMMAND_CONSUMER, [Topic.NOTIFICATION_COMMANDS], NotificationsUnitOfWork
    )
    consumer.on_batch([SendNotification], triggers.send_requested)
    return consumer
