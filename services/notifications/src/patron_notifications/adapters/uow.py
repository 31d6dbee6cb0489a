"""The notifications unit of work: the shared one plus its repositories."""

from __future__ import annotations

from patron_notifications.adapters.deliveries import SqlDeliveryRepository
from patron_notifications.adapters.merges import SqlMergeRepository
from patron_notifications.adapters.messaging_settings import SqlMessagingSettingsRepository
from patron_notifications.adapters.repository import SqlContactRepository
from patron_notifications.adapters.templates import SqlTemplateRepository
from patron_shared.db import UnitOfWork


class NotificationsUnitOfWork(UnitOfWork):
    contacts: SqlContactRepository
    templates: SqlTemplateRepository
    deliveries: SqlDeliveryRepository
    messaging_settings: SqlMessagingSettingsRepository
    merges: SqlMergeRepository

    def _open_repositories(self) -> None:
        self.contacts = SqlContactRepository(self.session, self.tenant_id)
        self.templates = SqlTemplateRepository(self.session, self.tenant_id)
        self.deliveries = SqlDeliveryRepository(self.session, self.tenant_id)
        self.messaging_settings = SqlMessagingSettingsRepository(self.session, self.tenant_id)
        self.merges = SqlMergeRepository(self.session, self.tenant_id)
