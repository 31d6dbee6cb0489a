"""Merges, unmerges and erasure, as the customer facts and memberships see them.

- `CustomersMerged`: the merged customer's orders become the survivor's (each remembering
  whose it was), the survivor's order facts are refolded, the merged customer leaves every
  segment, and order events that still name it count for the survivor.
- `CustomersUnmerged`: the orders a merge took come back, and the restored customer is live
  again with the facts it had (snapshots kept arriving while it was merged away).
- `CustomerErased`: its facts, orders and memberships are deleted, its exits announced.
"""

from __future__ import annotations

from patron_segmentation.service.membership import refresh_customer
from patron_segmentation.service.orders import refold_customers
from patron_segmentation.service.ports import OrdersUnitOfWork
from patron_shared.db import acknowledge_erasure
from patron_shared.events import CustomerErased, CustomersMerged, CustomersUnmerged, utcnow

# Names this service in the erasures it acknowledges (`ErasureAcknowledged.service`).
ERASURE_PARTICIPANT = "segmentation"


async def merge_facts(uow: OrdersUnitOfWork, event: CustomersMerged) -> None:
    survivor, merged = event.customer_id, event.merged_customer_id
    async with uow:
        await uow.facts.mark_merged(merged, into=survivor)
        await uow.orders.move(merged, survivor)
        await refold_customers(uow, dict.fromkeys((survivor, merged)), utcnow())
        await uow.commit()


async def unmerge_facts(uow: OrdersUnitOfWork, event: CustomersUnmerged) -> None:
    survivor, restored = event.customer_id, event.restored_customer_id
    async with uow:
        await uow.facts.mark_merged(restored, into=None)
        await uow.orders.move_back(restored)
        await refold_customers(uow, dict.fromkeys((survivor, restored)), utcnow())
        await uow.commit()


async def erase_facts(uow: OrdersUnitOfWork, event: CustomerErased) -> None:
    async with uow:
        await uow.orders.erase(event.customer_id)
        await uow.facts.erase(event.customer_id)
        await refresh_customer(uow, event.customer_id, utcnow())  # exits every segment
        await acknowledge_erasure(uow, event, service=ERASURE_PARTICIPANT)
        await uow.commit()
