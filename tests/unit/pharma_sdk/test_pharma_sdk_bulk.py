"""Many records in few transactions through the facades (the ERP import path), on the real PharmaContract
over an in-memory ledger whose transactions run on a peer of each endorsing organization."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

import pytest
from pharma_sdk_fakes import LedgerContract, PeerLedger, memory_ledger
from test_pharma_sdk_hosted import SAMPLE, SECOND_A, _facade, _sale_to, _write

from fabrx.pharma import Distributor, Hospital, Regulator


@pytest.fixture(params=["peer known", "peer probed"])
def ledger(request: pytest.FixtureRequest) -> PeerLedger:
    ledger = memory_ledger(peer_known=request.param == "peer known")
    regulator = _facade(ledger, "RegulatorMSP")
    assert isinstance(regulator, Regulator)
    regulator.bootstrap(SAMPLE.regulator)
    for submitter, record in SAMPLE.writes:
        _write(_facade(ledger, submitter), record)
    return ledger


def _distributor(ledger: PeerLedger) -> Distributor:
    client = _facade(ledger, "DistributorAMSP")
    assert isinstance(client, Distributor)
    return client


def test_a_refused_record_is_reported_by_index_and_the_others_are_written(ledger: PeerLedger) -> None:
    sales = [_sale_to("HospitalAMSP", i)[0] for i in range(1, 7)]
    reused = dataclasses.replace(sales[3], number=SECOND_A.number)
    malformed = dataclasses.replace(sales[4], total=sales[4].total + Decimal("1.00"))
    not_ours = dataclasses.replace(sales[5], seller="DistributorBMSP")
    records = [*sales[:3], reused, malformed, not_ours]
    contract = LedgerContract(ledger, "DistributorAMSP")
    distributor = Distributor(contract, "DistributorAMSP")
    result = distributor.write_records(records, batch_size=10, in_flight=1)
    assert [(r.index, r.rule, r.field) for r in result.refused] == [
        (3, "INVOICE_REUSED", "number"),
        (4, "RECORD", "total"),
        (5, "ROLE", "seller"),
    ]
    assert sorted(result.anchors) == [0, 1, 2]
    assert {result.anchors[i].key for i in range(3)} == {str(s.number) for s in sales[:3]}
    # The malformed and the misattributed records never left the client; one transaction was refused
    # (the reused number), one wrote the three others.
    assert result.transactions == 1
    assert all(name == "write_records" for name, _ in contract.peers)


def test_sending_an_import_again_writes_nothing_twice(ledger: PeerLedger) -> None:
    sales = [_sale_to("HospitalAMSP", i)[0] for i in range(10, 16)]
    distributor = _distributor(ledger)
    first = distributor.write_records(sales, batch_size=4, in_flight=2)
    assert first.ok and first.transactions == 2
    again = distributor.write_records(sales, batch_size=4, in_flight=2)
    assert again.ok and again.existing == frozenset(range(6))
    assert {i: a.transaction_id for i, a in again.anchors.items()} == {
        i: a.transaction_id for i, a in first.anchors.items()
    }


def test_receipts_in_bulk_give_the_buyer_its_copies(ledger: PeerLedger) -> None:
    pairs = [_sale_to("HospitalAMSP", i) for i in range(20, 24)]
    _distributor(ledger).write_records([invoice for invoice, _ in pairs])
    hospital = _facade(ledger, "HospitalAMSP")
    assert isinstance(hospital, Hospital)
    result = hospital.write_records([receipt for _, receipt in pairs])
    assert result.ok and len(result.anchors) == 4
    for invoice, _ in pairs:
        assert hospital.read_invoice(str(invoice.number)) == invoice


def test_bad_arguments_are_refused() -> None:
    ledger = memory_ledger()
    with pytest.raises(ValueError):
        _distributor(ledger).write_records([], batch_size=0)
    with pytest.raises(ValueError):
        _distributor(ledger).write_records([], in_flight=0)


def _unknown_after(contract: LedgerContract, *, commit_first: bool) -> tuple[list[str], Callable[..., bytes]]:
    """A submit whose first call ends in ``CommitStatusUnknown`` (after committing, with
    ``commit_first``, as when the gateway peer dies between submit and commit status); the submits'
    names are listed."""
    from fabrx import CommitStatusUnknown

    real = contract.submit_transaction
    calls: list[str] = []

    def flaky(name: str, *args: str | bytes, **options: object) -> bytes:
        calls.append(name)
        if len(calls) > 1:
            return real(name, *args, **options)
        transaction_id = "e" * 64
        if commit_first:
            real(name, *args, **options)
            transaction_id = contract.last_transaction_id
        raise CommitStatusUnknown("commit status failed", code="UNAVAILABLE", transaction_id=transaction_id)

    return calls, flaky


def test_a_write_whose_commit_outcome_is_unknown_and_that_committed_is_not_sent_again(
    ledger: PeerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fabrx.pharma import _base

    monkeypatch.setattr(_base, "RETRY_DELAY", 0.0)
    contract = LedgerContract(ledger, "DistributorAMSP")
    calls, contract.submit_transaction = _unknown_after(contract, commit_first=True)  # type: ignore[method-assign]
    invoice = _sale_to("HospitalAMSP", 40)[0]
    blocks = ledger.block_number
    anchor = Distributor(contract, "DistributorAMSP").issue_invoice(invoice)
    # The ledger was asked: the transaction committed VALID, so its anchor was read back, not resent.
    assert calls == ["issue_invoice"]
    assert ledger.block_number == blocks + 1
    assert anchor.transaction_id == contract.last_transaction_id
    again = _distributor(ledger).read_anchor("invoice", str(invoice.number))
    assert again.transaction_id == anchor.transaction_id


def test_a_write_whose_commit_outcome_is_unknown_and_that_is_not_on_the_ledger_is_sent_again(
    ledger: PeerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fabrx.pharma import _base

    monkeypatch.setattr(_base, "RETRY_DELAY", 0.0)
    contract = LedgerContract(ledger, "DistributorAMSP")
    calls, contract.submit_transaction = _unknown_after(contract, commit_first=False)  # type: ignore[method-assign]
    invoice = _sale_to("HospitalAMSP", 40)[0]
    blocks = ledger.block_number
    anchor = Distributor(contract, "DistributorAMSP").issue_invoice(invoice)
    assert calls == ["issue_invoice", "issue_invoice"]
    assert ledger.block_number == blocks + 1
    assert _distributor(ledger).read_anchor("invoice", str(invoice.number)) == anchor


def test_a_write_whose_outcome_stays_unknown_is_reported_so_and_never_sent_blindly(
    ledger: PeerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fabrx import CommitStatusUnknown, ConnectionFailure
    from fabrx.pharma import _base

    monkeypatch.setattr(_base, "RETRY_DELAY", 0.0)
    contract = LedgerContract(ledger, "DistributorAMSP")
    calls, contract.submit_transaction = _unknown_after(contract, commit_first=True)  # type: ignore[method-assign]
    asked: list[str] = []

    def unreachable(transaction_id: str) -> None:
        asked.append(transaction_id)
        raise ConnectionFailure("connect failed: UNAVAILABLE", code="UNAVAILABLE")

    contract.transaction_status = unreachable  # type: ignore[method-assign,assignment]
    with pytest.raises(CommitStatusUnknown) as unknown:
        Distributor(contract, "DistributorAMSP").issue_invoice(_sale_to("HospitalAMSP", 40)[0])
    assert calls == ["issue_invoice"]
    assert unknown.value.transaction_id == contract.last_transaction_id
    assert asked == [contract.last_transaction_id] * (_base.SUBMIT_ATTEMPTS - 1)
    assert "cannot ask the ledger" in str(unknown.value)


def _in_flight_then_down(first: str, calls: list[str]) -> Callable[..., bytes]:
    """A submit whose first call ends in ``CommitStatusUnknown`` for ``first`` and whose later calls
    cannot reach the peer; the submits' names are listed in ``calls``."""
    from fabrx import CommitStatusUnknown, ConnectionFailure

    def submit(name: str, *args: str | bytes, **options: object) -> bytes:
        calls.append(name)
        if len(calls) == 1:
            raise CommitStatusUnknown("commit status failed", code="UNAVAILABLE", transaction_id=first)
        raise ConnectionFailure("connect failed: UNAVAILABLE", code="UNAVAILABLE", transaction_id="f" * 64)

    return submit


def test_a_failure_after_an_attempt_that_may_still_commit_is_reported_as_unknown(
    ledger: PeerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt's outcome is unknown and the own peer does not have it yet (it may still
    commit); the next attempt cannot reach the peer. The write is not reported as failed: the caller
    gets CommitStatusUnknown for the first transaction, which may be on the ledger."""
    from fabrx import CommitStatusUnknown, ConnectionFailure
    from fabrx.pharma import _base

    monkeypatch.setattr(_base, "RETRY_DELAY", 0.0)
    contract = LedgerContract(ledger, "DistributorAMSP")
    first = "d" * 64
    calls: list[str] = []
    in_flight_then_down = _in_flight_then_down(first, calls)

    contract.submit_transaction = in_flight_then_down  # type: ignore[method-assign]
    contract.transaction_status = lambda transaction_id: None  # type: ignore[method-assign,assignment,return-value]
    with pytest.raises(CommitStatusUnknown) as unknown:
        Distributor(contract, "DistributorAMSP").issue_invoice(_sale_to("HospitalAMSP", 40)[0])
    assert calls == ["issue_invoice", "issue_invoice"], "the ConnectionFailure ends the retries"
    assert unknown.value.transaction_id == first
    assert "may still commit" in str(unknown.value)
    assert isinstance(unknown.value.__cause__, ConnectionFailure)


def test_an_attempt_found_committed_invalid_is_no_longer_in_doubt(
    ledger: PeerLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the ledger says the first attempt committed invalid, a later failure is reported as it is."""
    from fabrx import ConnectionFailure
    from fabrx.gateway import Status, StatusCode
    from fabrx.pharma import _base

    monkeypatch.setattr(_base, "RETRY_DELAY", 0.0)
    contract = LedgerContract(ledger, "DistributorAMSP")
    first = "d" * 64
    calls: list[str] = []
    in_flight_then_down = _in_flight_then_down(first, calls)

    invalid = Status(first, StatusCode.MVCC_READ_CONFLICT, 7)
    contract.submit_transaction = in_flight_then_down  # type: ignore[method-assign]
    contract.transaction_status = lambda transaction_id: invalid  # type: ignore[method-assign,assignment,return-value]
    with pytest.raises(ConnectionFailure) as failed:
        Distributor(contract, "DistributorAMSP").issue_invoice(_sale_to("HospitalAMSP", 40)[0])
    assert failed.value.transaction_id == "f" * 64
