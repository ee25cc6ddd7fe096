"""The role facades at the contract seam: what they send, what they refuse to send, how they parse."""

from __future__ import annotations

import dataclasses
import json
import logging
from decimal import Decimal

import pytest
from pharma_sdk_fakes import Call, RecordingContract, refusal

from fabrx import CommitError, ConnectionFailure, EndorseError
from fabrx.pharma import (
    AccessRefused,
    Distributor,
    Hospital,
    PharmaError,
    RecordInvalid,
    RecordNotFound,
    Regulator,
)
from fabrx.pharma import _base as base
from fabrx_pharma import Invoice, Party, Prescription, Receipt, canonical_json
from fabrx_pharma.sample import build_sample_scenario

SAMPLE = build_sample_scenario()
INVOICES = [r for r in SAMPLE.records(Invoice) if isinstance(r, Invoice)]
FIRST_A, SECOND_A = INVOICES[0], INVOICES[2]
RECEIPT_A = next(
    r for r in SAMPLE.records(Receipt) if isinstance(r, Receipt) and r.invoice_number == SECOND_A.number
)
ANCHOR = json.dumps(
    {
        "record_type": "invoice",
        "key": str(SECOND_A.number),
        "submitter": "DistributorAMSP",
        "transaction_id": "ab" * 32,
        "timestamp": "2025-01-01T12:00:00+00:00",
        "hash": "00" * 32,
        "collections": ["_implicit_org_DistributorAMSP", "_implicit_org_RegulatorMSP"],
        "parties": ["DistributorAMSP", "HospitalAMSP"],
        "order": 7,
        "public": {"buyer": "HospitalAMSP"},
    }
).encode()


def test_a_private_write_travels_in_the_transient_map_endorsed_by_own_org_and_regulator() -> None:
    contract = RecordingContract(lambda _: ANCHOR)
    anchor = Distributor(contract, "DistributorAMSP").issue_invoice(SECOND_A)
    (call,) = contract.calls
    assert (call.kind, call.name, call.args) == ("submit", "issue_invoice", ())
    assert call.transient == {"record": canonical_json(SECOND_A)}
    assert call.endorsing_organizations == ["DistributorAMSP", "RegulatorMSP"]
    assert anchor.collections == ("_implicit_org_DistributorAMSP", "_implicit_org_RegulatorMSP")
    assert anchor.parties == ("DistributorAMSP", "HospitalAMSP") and anchor.order == 7


def test_a_regulator_write_is_public_and_endorsed_by_the_regulator_alone() -> None:
    contract = RecordingContract(lambda _: ANCHOR)
    party = next(r for r in SAMPLE.records(Party) if isinstance(r, Party))
    Regulator(contract, "RegulatorMSP").register_party(party)
    (call,) = contract.calls
    assert call.args == (canonical_json(party).decode(),) and call.transient is None
    assert call.endorsing_organizations == ["RegulatorMSP"]


@pytest.mark.parametrize(
    ("party_id", "msp_id", "endorsers"),
    [
        ("DistributorAMSP", None, ["DistributorAMSP", "RegulatorMSP"]),  # a member acts for itself
        ("PHARMA-DIST-01", "CityHostMSP", ["CityHostMSP", "RegulatorMSP"]),  # hosted by a member
        ("PHARMA-DIST-01", "RegulatorMSP", ["RegulatorMSP"]),  # hosted by the regulator's organization
    ],
)
def test_a_write_is_endorsed_by_the_host_of_the_party_and_the_regulator(
    party_id: str, msp_id: str | None, endorsers: list[str]
) -> None:
    contract = RecordingContract(lambda _: ANCHOR)
    distributor = Distributor(contract, party_id, msp_id=msp_id)
    assert (distributor.party_id, distributor.msp_id) == (party_id, msp_id or party_id)
    assert distributor.endorsing_organizations == endorsers
    distributor.issue_invoice(dataclasses.replace(SECOND_A, seller=party_id))
    (call,) = contract.calls
    assert call.endorsing_organizations == endorsers


def test_a_hosted_party_writes_records_naming_itself_not_its_host() -> None:
    contract = RecordingContract(lambda _: ANCHOR)
    clinic = Hospital(contract, "CLINIC-0001", msp_id="CityHostMSP")
    as_host = dataclasses.replace(RECEIPT_A, receiver="CityHostMSP")
    with pytest.raises(PharmaError) as refused:
        clinic.record_receipt(as_host)
    assert (refused.value.rule, refused.value.field) == ("ROLE", "receiver")
    assert "acts for CLINIC-0001" in refused.value.message and contract.calls == []


def _reads_then_anchor(invoice: bytes | Exception) -> RecordingContract:
    return RecordingContract(lambda call: invoice if call.name == "read_invoice" else ANCHOR)


def test_a_receipt_carries_the_invoice_it_receives() -> None:
    contract = _reads_then_anchor(canonical_json(SECOND_A))
    Hospital(contract, "HospitalAMSP").record_receipt(RECEIPT_A)
    read, write = contract.calls
    assert (read.kind, read.name, read.args) == ("evaluate", "read_invoice", (str(SECOND_A.number),))
    assert (write.kind, write.name, write.args) == ("submit", "record_receipt", ())
    assert write.transient == {"record": canonical_json(RECEIPT_A), "invoice": canonical_json(SECOND_A)}
    assert write.endorsing_organizations == ["HospitalAMSP", "RegulatorMSP"]


@pytest.mark.parametrize(
    "answer",
    [
        refusal(403, "PRIVATE_DATA number: HospitalBMSP is not a party to invoice 24352000000000002001"),
        refusal(404, "NOT_FOUND number: no invoice 24352000000000002001 on the ledger"),
    ],
)
def test_a_receipt_of_an_invoice_it_cannot_read_goes_alone_for_the_chaincode_to_refuse(
    answer: Exception,
) -> None:
    contract = _reads_then_anchor(answer)
    Hospital(contract, "HospitalBMSP").record_receipt(dataclasses.replace(RECEIPT_A, receiver="HospitalBMSP"))
    assert contract.calls[-1].transient is not None and set(contract.calls[-1].transient) == {"record"}


def test_a_receipt_read_before_the_own_peer_committed_its_invoice_is_sent_again_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(base, "RETRY_DELAY", 0)
    lagging = refusal(404, "NOT_FOUND number: no invoice 24352000000000002001 on the ledger")
    without = refusal(
        403,
        "PRIVATE_DATA <transient:invoice>: the buyer's node keeps no copy of invoice 24352000000000002001 "
        "yet: send the invoice with its receipt (transient 'invoice')",
    )
    reads = iter([lagging, canonical_json(SECOND_A)])
    writes = iter([without, ANCHOR])
    contract = RecordingContract(lambda call: next(reads) if call.name == "read_invoice" else next(writes))
    Hospital(contract, "HospitalAMSP").record_receipt(RECEIPT_A)
    assert [(c.kind, c.name) for c in contract.calls] == [
        ("evaluate", "read_invoice"),
        ("submit", "record_receipt"),
        ("evaluate", "read_invoice"),
        ("submit", "record_receipt"),
    ]
    assert contract.calls[1].transient is not None and set(contract.calls[1].transient) == {"record"}
    assert contract.calls[3].transient == {
        "record": canonical_json(RECEIPT_A),
        "invoice": canonical_json(SECOND_A),
    }


def test_a_receipt_is_not_sent_when_reading_its_invoice_fails_otherwise() -> None:
    contract = _reads_then_anchor(
        refusal(403, "PRIVATE_DATA number: invoice 1 not yet received; retry later")
    )
    with pytest.raises(AccessRefused):
        Hospital(contract, "HospitalAMSP").record_receipt(RECEIPT_A)
    assert [c.kind for c in contract.calls] == ["evaluate"]


NO_COPY = (
    "PRIVATE_DATA number: this peer keeps no copy of invoice 24352000000000002001: ask a peer of the "
    "organization that wrote it, or the regulator's (_implicit_org_DistributorAMSP)"
)


def _own_peer_keeps_no_copy(payload: bytes) -> RecordingContract:
    def answer(call: Call) -> bytes | Exception:
        if call.endorsing_organizations is None:
            return refusal(403, NO_COPY, msp_id="HospitalAMSP")
        return payload

    return RecordingContract(answer)


def test_a_private_read_the_own_peer_keeps_no_copy_of_runs_again_on_the_regulators_peer() -> None:
    contract = _own_peer_keeps_no_copy(canonical_json(SECOND_A))
    assert Hospital(contract, "HospitalAMSP").read_invoice(str(SECOND_A.number)) == SECOND_A
    own, regulator = contract.calls
    assert own.endorsing_organizations is None and regulator.endorsing_organizations == ["RegulatorMSP"]
    assert own.args == regulator.args == (str(SECOND_A.number),)


def test_a_fallback_read_waits_for_a_regulators_peer_that_lags_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(base, "RETRY_DELAY", 0.0)
    lagging: list[bytes | Exception] = [
        refusal(404, "NOT_FOUND number: no invoice 24352000000000002001 on the ledger"),
        refusal(403, "PRIVATE_DATA number: invoice 1 has not received the private data yet; retry later"),
        canonical_json(SECOND_A),
    ]

    def answer(call: Call) -> bytes | Exception:
        if call.endorsing_organizations is None:
            return refusal(403, NO_COPY, msp_id="HospitalAMSP")
        return lagging.pop(0)

    contract = RecordingContract(answer)
    assert Hospital(contract, "HospitalAMSP").read_invoice(str(SECOND_A.number)) == SECOND_A
    assert [c.endorsing_organizations for c in contract.calls] == [None, *[["RegulatorMSP"]] * 3]
    not_a_party = RecordingContract(
        lambda call: (
            refusal(403, NO_COPY)
            if call.endorsing_organizations is None
            else refusal(403, "PRIVATE_DATA number: HospitalAMSP is not a party to invoice 1")
        )
    )
    with pytest.raises(AccessRefused):
        Hospital(not_a_party, "HospitalAMSP").read_invoice("1")
    assert len(not_a_party.calls) == 2


def test_stock_and_verification_fall_back_to_the_regulators_peer_too() -> None:
    stock = _own_peer_keeps_no_copy(json.dumps({"received": 10, "sold": 2}).encode())
    assert Hospital(stock, "HospitalAMSP").read_stock("AMOX", "A1").received == 10
    assert stock.calls[-1].args == ("HospitalAMSP", "AMOX", "A1")
    verification = _own_peer_keeps_no_copy(b"[]")
    assert Hospital(verification, "HospitalAMSP").verify_invoices({}) == []
    assert [c.endorsing_organizations for c in verification.calls] == [None, ["RegulatorMSP"]]
    assert verification.calls[1].transient == verification.calls[0].transient


def test_other_refusals_of_a_private_read_are_not_retried_elsewhere() -> None:
    not_a_party = RecordingContract(
        lambda _: refusal(403, "PRIVATE_DATA number: HospitalBMSP is not a party to invoice 1")
    )
    with pytest.raises(AccessRefused):
        Hospital(not_a_party, "HospitalBMSP").read_invoice("1")
    assert len(not_a_party.calls) == 1
    # A party the regulator's organization hosts already reads on the regulator's peer.
    hosted_by_regulator = _own_peer_keeps_no_copy(canonical_json(SECOND_A))
    with pytest.raises(AccessRefused):
        Hospital(hosted_by_regulator, "REG-CLINIC-01", msp_id="RegulatorMSP").read_invoice("1")
    assert len(hosted_by_regulator.calls) == 1


def test_a_record_attributed_to_another_organization_is_never_sent() -> None:
    contract = RecordingContract()
    with pytest.raises(PharmaError) as refused:
        Distributor(contract, "DistributorBMSP").issue_invoice(SECOND_A)
    assert (refused.value.rule, refused.value.field, refused.value.status) == ("ROLE", "seller", None)
    assert contract.calls == []


def test_a_malformed_record_is_refused_with_every_problem_before_sending() -> None:
    contract = RecordingContract()
    broken = dataclasses.replace(SECOND_A, total=SECOND_A.total + Decimal(1))
    with pytest.raises(RecordInvalid) as refused:
        Distributor(contract, "DistributorAMSP").issue_invoice(broken)
    assert refused.value.field == "total" and refused.value.problems[0][0] == "total"
    assert contract.calls == []


def test_a_distributor_cannot_issue_a_first_invoice_through_its_facade() -> None:
    contract = RecordingContract()
    first_as_distributor = dataclasses.replace(FIRST_A, seller="DistributorAMSP", buyer="DistributorBMSP")
    with pytest.raises(PharmaError) as refused:
        Distributor(contract, "DistributorAMSP").issue_invoice(first_as_distributor)
    assert (refused.value.rule, refused.value.field) == ("CHAIN_LENGTH", "kind")


@pytest.mark.parametrize(
    ("status", "text", "cls", "rule", "field"),
    [
        (
            400,
            "CONSERVATION lines[0].quantity: DistributorAMSP has received 10",
            PharmaError,
            "CONSERVATION",
            "lines[0].quantity",
        ),
        (
            400,
            "RECORD lines[0].amount: invoice has 1 problem: lines[0].amount: is 1.00",
            RecordInvalid,
            "RECORD",
            "lines[0].amount",
        ),
        (
            403,
            "PRIVATE_DATA number: invoice 1 is in collection trade_X_Y",
            AccessRefused,
            "PRIVATE_DATA",
            "number",
        ),
        (404, "NOT_FOUND party_id: no party X is registered", RecordNotFound, "NOT_FOUND", "party_id"),
    ],
)
def test_chaincode_refusals_become_pharma_errors_with_rule_and_field(
    status: int, text: str, cls: type[PharmaError], rule: str, field: str
) -> None:
    contract = RecordingContract(lambda _: refusal(status, text))
    with pytest.raises(cls) as refused:
        Hospital(contract, "HospitalAMSP").read_party("X")
    assert (refused.value.rule, refused.value.field, refused.value.status) == (rule, field, status)
    assert isinstance(refused.value.__cause__, Exception)


def test_errors_that_are_not_refusals_pass_through_unchanged() -> None:
    down = ConnectionFailure("endorse failed: UNAVAILABLE: connection refused", code="UNAVAILABLE")
    contract = RecordingContract(lambda _: down)
    with pytest.raises(ConnectionFailure):
        Hospital(contract, "HospitalAMSP").read_invoice("1")


def test_a_write_whose_endorsers_were_out_of_step_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "RETRY_DELAY", 0.0)
    mismatch = refusal(500, "x")
    mismatch.details = (
        dataclasses.replace(mismatch.details[0], message="ProposalResponsePayloads do not match"),
    )
    answers: list[bytes | Exception] = [mismatch, ANCHOR]
    contract = RecordingContract(lambda _: answers.pop(0))
    Distributor(contract, "DistributorAMSP").issue_invoice(SECOND_A)
    assert len(contract.calls) == 2


def test_a_write_refused_only_by_a_lagging_peer_of_another_org_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(base, "RETRY_DELAY", 0.0)
    lagging = refusal(400, "UNKNOWN_BATCH lines[0].batch_number: batch B1 of P1 is not recorded")
    lagging = EndorseError(
        "endorse failed: ABORTED: failed to collect enough transaction endorsements",
        code="ABORTED",
        details=lagging.details,  # from RegulatorMSP's peer; the distributor's own peer accepted
    )
    answers: list[bytes | Exception] = [lagging, ANCHOR]
    contract = RecordingContract(lambda _: answers.pop(0))
    Distributor(contract, "DistributorAMSP").issue_invoice(SECOND_A)
    assert len(contract.calls) == 2

    own_refusal = EndorseError(
        "endorse failed: ABORTED: failed to collect enough transaction endorsements",
        code="ABORTED",
        details=(dataclasses.replace(lagging.details[0], msp_id="DistributorAMSP"),),
    )
    refused = RecordingContract(lambda _: own_refusal)
    with pytest.raises(PharmaError):
        Distributor(refused, "DistributorAMSP").issue_invoice(SECOND_A)
    assert len(refused.calls) == 1


def test_a_write_that_committed_as_a_read_conflict_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "RETRY_DELAY", 0.0)
    answers: list[bytes | Exception] = [CommitError("ab" * 32, "MVCC_READ_CONFLICT", 9), ANCHOR]
    contract = RecordingContract(lambda _: answers.pop(0))
    Distributor(contract, "DistributorAMSP").issue_invoice(SECOND_A)
    assert len(contract.calls) == 2
    endorsement_failure = RecordingContract(lambda _: CommitError("ab" * 32, "ENDORSEMENT_POLICY_FAILURE", 9))
    with pytest.raises(CommitError):
        Distributor(endorsement_failure, "DistributorAMSP").issue_invoice(SECOND_A)
    assert len(endorsement_failure.calls) == 1


def test_each_retry_of_a_write_is_logged_at_info_with_its_transaction_id_and_a_growing_wait(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(base, "RETRY_DELAY", 0.001)
    answers: list[bytes | Exception] = [
        CommitError("cd" * 32, "MVCC_READ_CONFLICT", 9),
        CommitError("ef" * 32, "PHANTOM_READ_CONFLICT", 10),
        ANCHOR,
    ]
    contract = RecordingContract(lambda _: answers.pop(0))
    with caplog.at_level(logging.INFO, logger="fabrx.pharma"):
        Distributor(contract, "DistributorAMSP").issue_invoice(SECOND_A)
    assert len(contract.calls) == 3
    assert [(r.name, r.levelname) for r in caplog.records] == [("fabrx.pharma", "INFO")] * 2
    first, second = (r.getMessage() for r in caplog.records)
    assert first == (
        f"issue_invoice: attempt 1 of {base.SUBMIT_ATTEMPTS} failed (CommitError MVCC_READ_CONFLICT) "
        f"[transaction {'cd' * 32}]; trying again in 0.00 s"
    )
    assert "attempt 2 of" in second and "PHANTOM_READ_CONFLICT" in second and "ef" * 32 in second


def test_a_refusal_retried_is_logged_by_its_rule_without_its_message(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(base, "RETRY_DELAY", 0.0)
    lagging = refusal(403, "PRIVATE_DATA number: invoice 24352000000000002001 not yet received; retry later")
    answers: list[bytes | Exception] = [lagging, ANCHOR]
    contract = RecordingContract(lambda _: answers.pop(0))
    with caplog.at_level(logging.INFO, logger="fabrx.pharma"):
        Distributor(contract, "DistributorAMSP").issue_invoice(SECOND_A)
    (record,) = caplog.records
    assert "(AccessRefused PRIVATE_DATA)" in record.getMessage()
    assert "24352000000000002001" not in record.getMessage()  # record fields stay out of the logs


def test_a_write_out_of_step_every_time_raises_its_last_error_after_the_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(base, "RETRY_DELAY", 0.0)
    contract = RecordingContract(lambda _: CommitError("ab" * 32, "MVCC_READ_CONFLICT", 9))
    with pytest.raises(CommitError) as caught:
        Distributor(contract, "DistributorAMSP").issue_invoice(SECOND_A)
    assert caught.value.validation_code == "MVCC_READ_CONFLICT"  # as it is, not tenacity's RetryError
    assert len(contract.calls) == base.SUBMIT_ATTEMPTS
    lagging = refusal(403, "PRIVATE_DATA number: invoice 1 not yet received; retry later")
    refused = RecordingContract(lambda _: lagging)
    with pytest.raises(AccessRefused) as refusal_caught:
        Distributor(refused, "DistributorAMSP").issue_invoice(SECOND_A)
    assert refusal_caught.value.__cause__ is lagging  # the translated refusal keeps the Gateway error
    assert len(refused.calls) == base.SUBMIT_ATTEMPTS


def test_an_interrupted_write_is_not_retried() -> None:
    def interrupted(_: Call) -> bytes:
        raise KeyboardInterrupt

    contract = RecordingContract(interrupted)
    with pytest.raises(KeyboardInterrupt):
        Distributor(contract, "DistributorAMSP").issue_invoice(SECOND_A)
    assert len(contract.calls) == 1


def test_a_rule_refusal_is_not_retried() -> None:
    contract = RecordingContract(
        lambda _: refusal(400, "INVOICE_REUSED number: invoice 1 is already on the ledger")
    )
    with pytest.raises(PharmaError):
        Distributor(contract, "DistributorAMSP").issue_invoice(SECOND_A)
    assert len(contract.calls) == 1


def test_hospital_verification_sends_the_copies_in_the_transient_map_and_parses_results() -> None:
    result = [
        {
            "number": str(SECOND_A.number),
            "kind": "second",
            "seller": "DistributorAMSP",
            "buyer": "HospitalAMSP",
            "genuine": True,
            "receipt_matches": True,
            "first_invoices": [{"index": 0, "number": str(FIRST_A.number), "genuine": False}],
            "discrepancies": [{"code": "HASH_MISMATCH", "field": "first_invoices[0]", "message": "differs"}],
            "verified": False,
        }
    ]

    def answer(call: Call) -> bytes:
        return json.dumps(result).encode()

    contract = RecordingContract(answer)
    (verification,) = Hospital(contract, "HospitalAMSP").verify_invoices({str(SECOND_A.number): [FIRST_A]})
    (call,) = contract.calls
    assert call.kind == "evaluate" and call.name == "verify_invoices" and call.args == ()
    assert call.transient is not None
    sent = json.loads(call.transient["requests"])
    assert sent == [{"number": str(SECOND_A.number), "first_invoices": [FIRST_A.to_dict()]}]
    assert not verification.verified and not verification.first_invoices[0].genuine
    assert verification.discrepancies[0].code == "HASH_MISMATCH"


def test_trace_by_patient_sends_an_empty_prescription_id() -> None:
    contract = RecordingContract(lambda _: b"[]")
    assert Regulator(contract, "RegulatorMSP").trace(patient_pseudonym="ab" * 32) == ()
    assert contract.calls[0].args == ("", "ab" * 32)
    with pytest.raises(PharmaError):
        Regulator(contract, "RegulatorMSP").trace()


def test_a_hospital_record_names_the_hospital_that_sends_it() -> None:
    contract = RecordingContract(lambda _: ANCHOR)
    prescription = next(r for r in SAMPLE.records(Prescription) if isinstance(r, Prescription))
    with pytest.raises(PharmaError) as refused:
        Hospital(contract, "HospitalBMSP").record_prescription(prescription)
    assert refused.value.field == "hospital" and contract.calls == []


def test_a_departed_organization_is_refused_access_not_told_the_peer_is_unavailable() -> None:
    from fabrx.errors import ErrorDetail, GatewayError
    from fabrx.pharma._errors import refusal_from

    said = (
        "rpc error: code = Unknown desc = error validating proposal: access denied: channel [pharma] "
        "creator org unknown, creator is malformed"
    )
    error = GatewayError(
        "evaluate failed: UNAVAILABLE: failed to evaluate transaction",
        code="UNAVAILABLE",
        details=(ErrorDetail("127.0.0.1:7066", "RegulatorMSP", said),),
        transaction_id="ab12",
    )
    refused = refusal_from(error)
    assert isinstance(refused, AccessRefused)
    assert (refused.rule, refused.field, refused.status, refused.transaction_id) == (
        "ROLE",
        "submitter",
        403,
        "ab12",
    )
    assert "not a member of channel pharma" in refused.message
    # A peer that is merely down stays a GatewayError for the caller to retry.
    down = GatewayError("evaluate failed: UNAVAILABLE: connection refused", code="UNAVAILABLE")
    assert refusal_from(down) is None
