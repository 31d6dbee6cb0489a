from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from patron_identity.domain.identifiers import CustomerIdentifiers
from patron_shared.events import CustomerSnapshot

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def snapshot(**fields: object) -> CustomerSnapshot:
    return CustomerSnapshot(created_at=NOW, updated_at=NOW, **fields)  # type: ignore[arg-type]


def test_identifiers_lower_case_the_email_and_keep_the_phone_as_given() -> None:
    identifiers = CustomerIdentifiers.from_snapshot(
        snapshot(email=" Ann.Lee@Example.COM ", phone="+14155550123")
    )

    assert identifiers.email == "ann.lee@example.com"
    assert identifiers.phone == "+14155550123"


def test_external_ids_read_as_source_colon_id_in_a_stable_order() -> None:
    identifiers = CustomerIdentifiers.from_snapshot(
        snapshot(external_ids={"woocommerce": "77", "shopify": "123"})
    )

    assert identifiers.external_ids == ("shopify:123", "woocommerce:77")


def test_a_customer_without_identifiers_has_none() -> None:
    assert (
        CustomerIdentifiers.from_snapshot(snapshot(email="", phone=None)) == CustomerIdentifiers()
    )


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True),
        st.text(min_size=1, max_size=20),
        max_size=5,
    )
)
def test_every_external_id_appears_once_prefixed_by_its_source(ids: dict[str, str]) -> None:
    identifiers = CustomerIdentifiers.of(email=None, phone=None, external_ids=ids)

    assert sorted(identifiers.external_ids) == list(identifiers.external_ids)
    assert set(identifiers.external_ids) == {f"{source}:{id_}" for source, id_ in ids.items()}
