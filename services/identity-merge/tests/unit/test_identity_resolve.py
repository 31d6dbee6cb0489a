"""Resolution by exact identifiers, on in-memory fakes."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patron_identity.domain.matching import NormalizationRules
from patron_identity.domain.resolution import Identifier, ResolveRequest
from patron_identity.service.resolve import resolve
from patron_shared.errors import InvalidInput
from patron_shared.events import UpsertCustomerFromSource
from patron_shared.testing import run_without_io

from .fakes import FakeIdentityUnitOfWork

RULES = NormalizationRules()


def test_identifiers_are_normalized_and_in_match_order() -> None:
    request = ResolveRequest(
        source="shopify", phone="(415) 555-0111", email=" Ann@Example.COM", external_id="7 "
    )

    assert request.identifiers(RULES) == [
        Identifier("external_id", "shopify:7"),
        Identifier("email", "ann@example.com"),
        Identifier("phone", "+14155550111"),
    ]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (ResolveRequest(source="api"), "body"),
        (ResolveRequest(source="api", first_name="Ann"), "body"),
        (ResolveRequest(source="api", email="nope"), "email"),
        (ResolveRequest(source="api", phone="12"), "phone"),
    ],
)
def test_a_request_without_a_usable_identifier_is_refused(
    request_: ResolveRequest, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        request_.identifiers(RULES)

    assert refused.value.field == field


def test_a_new_person_is_created_once_and_announced_once() -> None:
    uow = FakeIdentityUnitOfWork()
    request = ResolveRequest(source="pos", email="ann@example.com", first_name="Ann")

    first = run_without_io(resolve(uow, request, rules=RULES))
    again = run_without_io(resolve(uow, request, rules=RULES))

    assert (first.created, again.created, again.matched_by) == (True, False, "email")
    assert again.customer_id == first.customer_id
    [command] = uow.published
    assert isinstance(command, UpsertCustomerFromSource)
    assert (command.customer_id, command.source, command.first_name) == (
        first.customer_id,
        "pos",
        "Ann",
    )


def test_a_request_that_loses_the_race_for_its_first_identifier_adopts_the_winner() -> None:
    uow = FakeIdentityUnitOfWork()
    winner = uuid.uuid4()

    class RacingIdentifiers(type(uow.identifiers)):  # type: ignore[misc]
        async def owners(self, wanted: object) -> dict[Identifier, uuid.UUID]:
            return {}  # read before the other request committed

    uow.identifiers = RacingIdentifiers(owned={Identifier("email", "ann@example.com"): winner})

    found = run_without_io(
        resolve(uow, ResolveRequest(source="api", email="ann@example.com"), rules=RULES)
    )

    assert (found.customer_id, found.created, found.matched_by) == (winner, False, "email")
    assert uow.published == []


@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "ann@example.com", "bob@example.com"]),
            st.sampled_from([None, "+14155550111", "+14155550122"]),
        ).filter(lambda pair: pair != (None, None)),
        min_size=1,
        max_size=8,
    )
)
def test_every_identifier_has_one_owner_and_known_identifiers_always_resolve_to_it(
    requests: list[tuple[str | None, str | None]],
) -> None:
    uow = FakeIdentityUnitOfWork()
    for email, phone in requests:
        found = run_without_io(
            resolve(uow, ResolveRequest(source="api", email=email, phone=phone), rules=RULES)
        )
        owners = uow.identifiers.owned
        wanted = ResolveRequest(source="api", email=email, phone=phone).identifiers(RULES)
        # The first identifier in match order decides, and it now belongs to the answer.
        assert owners[wanted[0]] == found.customer_id
    created = [c.customer_id for c in uow.published if isinstance(c, UpsertCustomerFromSource)]
    assert len(created) == len(set(created)) == len(set(uow.identifiers.owned.values()))
