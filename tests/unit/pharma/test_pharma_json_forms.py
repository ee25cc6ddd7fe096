"""The JSON forms the chaincode and the SDK share: the two-invoice policy and stock counters."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from fabrx_pharma import StockPosition, TwoInvoicePolicy
from fabrx_pharma.policy import policy_from_json, policy_to_json
from fabrx_pharma.stock import STOCK_COUNTERS


def test_a_policy_survives_its_json_form_with_the_zone_as_an_offset() -> None:
    policy = TwoInvoicePolicy(
        one_invoice_mode=True, max_invoice_shipment_days=3, timezone=timezone(timedelta(hours=-5))
    )
    data = policy_to_json(policy)
    assert b'"utc_offset_minutes":-300' in data
    back = policy_from_json(data)
    assert back.one_invoice_mode and back.max_invoice_shipment_days == 3
    assert back.timezone.utcoffset(None) == timedelta(hours=-5)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"one_invoice_mode": 1}', "one_invoice_mode"),
        ('{"max_invoice_shipment_days": 400}', "max_invoice_shipment_days"),
        ('{"utc_offset_minutes": true}', "utc_offset_minutes"),
        ('{"strict": true}', "strict"),
    ],
)
def test_a_bad_policy_field_is_named(text: str, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        policy_from_json(text)


def test_stock_counters_round_trip_and_missing_ones_are_zero() -> None:
    position = StockPosition(received=10, sold=3, dispensed=1)
    assert set(position.counters()) == set(STOCK_COUNTERS)
    assert StockPosition.from_counters(position.counters()) == position
    assert StockPosition.from_counters({"received": 4, "order": 99}) == StockPosition(received=4)
