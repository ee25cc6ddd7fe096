"""The role facades at the contract seam: what they send, what they refuse to send, how they parse."""

from __future__ import annotations

import dataclasses
import json
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
from fabrx_pharma import Invoice, Party, Prescription, canonical_json
from fabrx_pharma.sample import build_sample_scenario

SAMPLE = build_sample_scenario()
INVOICES = [r for r in SAMPLE.records(Invoice) if isinstance(r, Invoice)]
FIRST_A, SECOND_A = INVOICES[0], INVOICES[2]
ANCHOR = json.dumps(
    {
        "record_type": "invoice",
        "key": str(SECOND_A.number),
        "submitter": "DistributorAMSP",
        "transaction_id": "ab" * 32,
        "timestamp": "2025-01-01T12:00:00+00:00",
        "hash": "00" * 32,
        "collection": "trade_DistributorAMSP_HospitalAMSP",
        "owners": ["DistributorAMSP", "HospitalAMSP"],
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
    assert anchor.collection == "trade_DistributorAMSP_HospitalAMSP" and anchor.order == 7


def test_a_regulator_write_is_public_and_lets_the_gateway_pick_the_second_endorser() -> None:
    contract = RecordingContract(lambda _: ANCHOR)
    party = next(r for r in SAMPLE.records(Party) if isinstance(r, Party))
    Regulator(contract, "RegulatorMSP").register_party(party)
    (call,) = contract.calls
    assert call.args == (canonical_json(party).decode(),) and call.transient is None
    assert call.endorsing_organizations is None


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
        (404, "NOT_FOUND msp_id: no party X is registered", RecordNotFound, "NOT_FOUND", "msp_id"),
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
