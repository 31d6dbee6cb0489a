import copy
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron_identity.domain.customer import IdentityCustomer
from patron_identity.domain.matching import NormalizationRules
from patron_identity.domain.resolution import Identifier
from patron_identity.service import customers as use_cases
from patron_identity.service.customers import (
    delete_customer,
    erase_customer,
    get_identifiers,
    record_customer,
)
from patron_shared.errors import NotFound
from patron_shared.events import (
    CustomerCreated,
    CustomerDeleted,
    CustomerErased,
    CustomerSnapshot,
    CustomerUpdated,
)
from patron_shared.testing import run_without_io

from .fakes import FakeIdentityUnitOfWork

JOINED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RULES = NormalizationRules()
NO_FOLDING = NormalizationRules(gmail_dots=False, plus_tags=False)


@pytest.fixture(autouse=True)
def refreshed(monkeypatch: pytest.MonkeyPatch) -> list[IdentityCustomer]:
    """What `refresh_matching` was handed, in order (matching itself is tested apart)."""
    calls: list[IdentityCustomer] = []

    async def remember(uow: object, customer: IdentityCustomer) -> None:
        calls.append(copy.deepcopy(customer))

    monkeypatch.setattr(use_cases, "refresh_matching", remember)
    return calls


def at(minutes: int) -> datetime:
    return JOINED + timedelta(minutes=minutes)


def snapshot(
    minutes: int = 0,
    email: str | None = "ann@example.com",
    phone: str | None = "+14155550123",
    external_ids: dict[str, str] | None = None,
) -> CustomerSnapshot:
    return CustomerSnapshot(
        email=email,
        phone=phone,
        first_name="Ann",
        last_name="Lee",
        external_ids={"shopify": "123"} if external_ids is None else external_ids,
        date_of_birth=date(1990, 4, 2),
        created_at=JOINED,
        updated_at=at(minutes),
    )


def updated(
    customer_id: uuid.UUID, minutes: int, email: str | None, **fields: object
) -> CustomerUpdated:
    return CustomerUpdated(
        customer_id=customer_id,
        changed_fields=["email"],
        customer=snapshot(minutes, email, **fields),  # type: ignore[arg-type]
    )


async def record(uow: FakeIdentityUnitOfWork, event: CustomerCreated | CustomerUpdated) -> None:
    await record_customer(uow, event, rules=RULES)


async def test_a_created_customer_is_recorded_with_its_identifiers() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()

    await record(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    identifiers = await get_identifiers(uow, customer_id)
    assert identifiers.email == "ann@example.com"
    assert identifiers.external_ids == ("shopify:123",)
    assert uow.customers.rows[customer_id].last_name == "Lee"
    assert uow.commits == 1


async def test_a_snapshot_brings_the_date_of_birth_and_the_profiles_creation_time() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()

    await record(uow, updated(customer_id, 30, "ann@example.com"))

    stored = uow.customers.rows[customer_id]
    assert (stored.date_of_birth, stored.created_at) == (date(1990, 4, 2), JOINED)
    person = stored.person_record()
    assert (person.record_id, person.first_name, person.date_of_birth) == (
        str(customer_id),
        "Ann",
        date(1990, 4, 2),
    )


async def test_a_profile_customer_claims_its_normalized_identifiers_as_the_profiles() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    customer = snapshot(email="Ann.Lee+shop@GMail.com", phone="(415) 555-0123")

    await record(uow, CustomerCreated(customer_id=customer_id, customer=customer))

    owned = {o.identifier: o.source for o in await uow.identifiers.owned_by(customer_id)}
    assert owned == {
        Identifier("email", "annlee@gmail.com"): "profile",
        Identifier("phone", "+14155550123"): "profile",
        Identifier("external_id", "shopify:123"): "profile",
    }


async def test_the_tenants_rules_decide_how_an_email_is_folded() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    customer = snapshot(email="Ann.Lee+shop@gmail.com")

    await record_customer(
        uow, CustomerCreated(customer_id=customer_id, customer=customer), rules=NO_FOLDING
    )

    assert Identifier("email", "ann.lee+shop@gmail.com") in uow.identifiers.owned


async def test_an_identifier_another_customer_owns_stays_theirs() -> None:
    uow, first, second = FakeIdentityUnitOfWork(), uuid.uuid4(), uuid.uuid4()
    await record(uow, CustomerCreated(customer_id=first, customer=snapshot()))

    await record(uow, CustomerCreated(customer_id=second, customer=snapshot(phone=None)))

    assert uow.identifiers.owned[Identifier("email", "ann@example.com")] == first
    assert await uow.identifiers.of_customer(second) == []


async def test_an_identifier_the_profile_no_longer_names_is_released_but_not_a_sources() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    await record(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))
    from_shopify = Identifier("email", "ann.work@example.com")
    await uow.identifiers.claim(from_shopify, customer_id, source="shopify")

    await record(uow, updated(customer_id, 5, "ann.new@example.com", external_ids={}))

    assert await uow.identifiers.of_customer(customer_id) == sorted(
        [
            from_shopify,
            Identifier("email", "ann.new@example.com"),
            Identifier("phone", "+14155550123"),
        ]
    )


async def test_a_reclaimed_identifier_is_seen_again_but_keeps_its_first_sighting() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    email = Identifier("email", "ann@example.com")
    await record(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))
    first_seen, last_seen = uow.identifiers.seen[email]

    await record(uow, updated(customer_id, 5, "ann@example.com"))

    assert uow.identifiers.seen[email][0] == first_seen
    assert uow.identifiers.seen[email][1] > last_seen


async def test_every_change_is_screened_and_a_stale_snapshot_is_not(
    refreshed: list[IdentityCustomer],
) -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()

    await record(uow, updated(customer_id, 10, "new@example.com"))
    await record(uow, updated(customer_id, 5, "old@example.com"))
    await delete_customer(uow, CustomerDeleted(customer_id=customer_id, deleted_at=at(60)))

    assert [(c.email, c.deleted_at) for c in refreshed] == [
        ("new@example.com", None),
        ("new@example.com", at(60)),
    ]


async def test_an_older_snapshot_does_not_overwrite_a_newer_one() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    await record(uow, updated(customer_id, 10, "new@example.com"))

    await record(uow, updated(customer_id, 5, "old@example.com"))
    await record(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    assert (await get_identifiers(uow, customer_id)).email == "new@example.com"
    assert uow.customers.writes == 1
    assert Identifier("email", "old@example.com") not in uow.identifiers.owned


async def test_a_deleted_customer_has_no_identifiers_any_more() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    await record(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    await delete_customer(uow, CustomerDeleted(customer_id=customer_id, deleted_at=at(60)))

    with pytest.raises(NotFound):
        await get_identifiers(uow, customer_id)
    assert uow.identifiers.owned == {}


async def test_a_creation_arriving_after_the_deletion_does_not_bring_the_customer_back() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()

    await delete_customer(uow, CustomerDeleted(customer_id=customer_id, deleted_at=at(60)))
    await record(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    with pytest.raises(NotFound):
        await get_identifiers(uow, customer_id)
    assert uow.customers.rows[customer_id].email is None
    assert uow.identifiers.owned == {}


@pytest.mark.parametrize("mode", ["hard", "anonymize"])
async def test_erasure_blanks_every_personal_field_and_drops_the_identifiers(mode: str) -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()
    await record(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))
    await uow.identifiers.claim(
        Identifier("email", "a@shop.example"), customer_id, source="shopify"
    )

    await erase_customer(
        uow,
        CustomerErased(customer_id=customer_id, mode=mode, erased_at=at(90)),  # type: ignore[arg-type]
    )
    await record(uow, updated(customer_id, 30, "late@example.com"))  # taken before

    stored = uow.customers.rows[customer_id]
    personal = (stored.email, stored.phone, stored.first_name, stored.last_name)
    assert personal == (None, None, None, None)
    assert (stored.external_ids, stored.date_of_birth, stored.addresses) == ({}, None, {})
    assert (stored.deleted_at is not None) is (mode == "hard")
    assert uow.identifiers.owned == {}


async def test_an_erasure_of_an_unknown_customer_keeps_its_late_creation_out() -> None:
    uow, customer_id = FakeIdentityUnitOfWork(), uuid.uuid4()

    await erase_customer(
        uow, CustomerErased(customer_id=customer_id, mode="anonymize", erased_at=at(90))
    )
    await record(uow, CustomerCreated(customer_id=customer_id, customer=snapshot()))

    assert (await get_identifiers(uow, customer_id)).email is None
    assert uow.identifiers.owned == {}


async def test_an_unknown_customer_is_not_found() -> None:
    with pytest.raises(NotFound):
        await get_identifiers(FakeIdentityUnitOfWork(), uuid.uuid4())


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    minutes=st.lists(
        st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6, unique=True
    ),
    order=st.randoms(use_true_random=False),
)
def test_any_arrival_order_of_the_same_snapshots_ends_at_the_newest_and_its_identifiers(
    minutes: list[int], order: object
) -> None:
    customer_id = uuid.uuid4()
    events = [updated(customer_id, m, f"v{m}@example.com") for m in minutes]
    order.shuffle(events)  # type: ignore[attr-defined]
    uow = FakeIdentityUnitOfWork()

    for event in events:
        run_without_io(record_customer(uow, event, rules=RULES))

    newest = max(minutes)
    stored = uow.customers.rows[customer_id]
    assert (stored.email, stored.source_updated_at) == (f"v{newest}@example.com", at(newest))
    emails = [i.value for i in uow.identifiers.owned if i.kind == "email"]
    assert emails == [f"v{newest}@example.com"]
