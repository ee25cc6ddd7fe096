from __future__ import annotations

import pytest

from fabrx_pharma.stock import Inflow, Outflow, StockPosition


def position(**counters: int) -> StockPosition:
    return StockPosition(**counters)


def test_direct_stock_is_available_for_every_outflow() -> None:
    stock = position(received=10, sold=3)
    assert [stock.available(o) for o in Outflow] == [7, 7, 7, 7]


def test_group_transfer_stock_cannot_go_onward_but_reaches_any_hospital() -> None:
    stock = position(received=10, received_group=10)
    assert stock.available(Outflow.ONWARD) == 0
    assert stock.available(Outflow.HOSPITAL) == 10
    assert stock.available(Outflow.REMOTE_HOSPITAL) == 10


def test_remote_transfer_stock_reaches_only_remote_hospitals_and_patients() -> None:
    stock = position(received=10, received_remote=10)
    assert (stock.available(Outflow.ONWARD), stock.available(Outflow.HOSPITAL)) == (0, 0)
    assert (stock.available(Outflow.REMOTE_HOSPITAL), stock.available(Outflow.DISPENSED)) == (10, 10)


@pytest.mark.parametrize(
    ("counters", "expected"),
    [
        # 5 direct + 10 remote; 5 sold to a city hospital used up the direct part.
        (
            {"received": 15, "received_remote": 10, "sold": 5},
            {Outflow.HOSPITAL: 0, Outflow.REMOTE_HOSPITAL: 10},
        ),
        # Remote sales drew on remote stock first, whatever order they came in.
        (
            {"received": 15, "received_remote": 10, "sold_remote": 10},
            {Outflow.HOSPITAL: 5, Outflow.ONWARD: 5},
        ),
        # Remote sales beyond the remote stock eat into the direct part.
        (
            {"received": 15, "received_remote": 10, "sold_remote": 12},
            {Outflow.HOSPITAL: 3, Outflow.ONWARD: 3},
        ),
        # Transfers use only direct stock; group stock still serves hospitals.
        ({"received": 20, "received_group": 8, "transferred": 12}, {Outflow.ONWARD: 0, Outflow.HOSPITAL: 8}),
    ],
)
def test_availability_is_the_tightest_of_the_three_nested_limits(
    counters: dict[str, int], expected: dict[Outflow, int]
) -> None:
    stock = position(**counters)
    for outflow, quantity in expected.items():
        assert stock.available(outflow) == quantity, outflow


def test_counters_move_with_inflows_and_outflows() -> None:
    stock = (
        StockPosition().with_purchase(10).with_inflow(10, Inflow.GROUP_TRANSFER).with_inflow(4, Inflow.DIRECT)
    )
    stock = stock.with_outflow(3, Outflow.REMOTE_HOSPITAL).with_outflow(1, Outflow.DISPENSED)
    assert (stock.purchased, stock.received, stock.received_group) == (10, 14, 10)
    assert (stock.out, stock.on_hand) == (4, 10)
