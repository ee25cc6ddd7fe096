"""The demo scenario through the facades and the real PharmaContract on an in-memory ledger."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from pharma_sdk_fakes import NOW, ROLES, LedgerContract, PeerLedger, memory_ledger

from fabrx.pharma import PharmaClient, PharmaClients
from fabrx.pharma.scenario import ScenarioReport, run_scenario

F = TypeVar("F", bound=PharmaClient)


class MemoryClients(PharmaClients):
    """The facades over :class:`LedgerContract`: no Gateway, no network."""

    def __init__(self, ledger: PeerLedger) -> None:
        orgs = [
            SimpleNamespace(name=m.removesuffix("MSP"), msp_id=m, role=r, peers=[])
            for m, r in ROLES.items()
            if m.endswith("MSP")
        ]
        super().__init__(SimpleNamespace(consortium=SimpleNamespace(orgs=orgs)))  # type: ignore[arg-type]
        self._ledger = ledger

    def facade(self, cls: type[F], name: str) -> F:
        org: Any = self._org(name)
        return cls(LedgerContract(self._ledger, org.msp_id), org.msp_id)


@pytest.fixture(scope="module", params=["peer probed", "peer known"])
def ledger(request: pytest.FixtureRequest) -> PeerLedger:
    """Each write endorsed on the client's organization's peer and the regulator's; the chaincode
    finding out which organization's peer runs it, or told (``CHAINCODE_PEER_MSPID``)."""
    return memory_ledger(peer_known=request.param == "peer known")


@pytest.fixture(scope="module")
def report(ledger: PeerLedger) -> ScenarioReport:
    return run_scenario(MemoryClients(ledger), now=NOW)


def test_every_injected_violation_is_refused_with_a_different_rule(report: ScenarioReport) -> None:
    assert report.ok and report.bootstrapped
    assert len({r.rule for r in report.refusals}) == len(report.refusals) == 6
    assert "TRACE_CODE_NOT_RECEIVED" in {r.rule for r in report.refusals}


def test_the_report_lists_findings_trace_and_recall_scope(report: ScenarioReport) -> None:
    # A package dispensed away from where it was shipped is refused now, so only what a write cannot
    # refuse remains for the regulator.
    assert {f.rule.value for f in report.findings} == {"RECEIPT_MISSING"}
    assert report.traces[0].raw_material_lots and report.recall_scope is not None
    genuine, tampered = report.verifications
    assert genuine[1].verified and not tampered[1].verified


def test_render_shows_refusals_findings_and_the_trace_for_a_person(report: ScenarioReport) -> None:
    text = report.render()
    assert "expected INVOICE_REUSED; refused INVOICE_REUSED number" in text
    assert "RECEIPT_MISSING" in text and "raw material" in text and "Recall scope" in text
    assert "refused TRACE_CODE_NOT_RECEIVED items[0].trace_codes[0]" in text
    assert "NOT VERIFIED" in text and "HASH_MISMATCH first_invoices[0]" in text


def test_as_dict_is_json_for_machines(report: ScenarioReport) -> None:
    data = json.loads(json.dumps(report.as_dict()))
    assert data["ok"] is True and len(data["refusals"]) == 6
    assert data["traces"][0]["batch"]["raw_material_lots"]


def test_a_second_run_on_the_same_ledger_writes_fresh_records(
    ledger: PeerLedger, report: ScenarioReport
) -> None:
    again = run_scenario(MemoryClients(ledger), now=NOW.replace(minute=5))
    assert again.ok and not again.bootstrapped and again.tag != report.tag
    assert {a.record_type for _, a in again.writes} >= {"batch", "invoice", "prescription"}
    assert not {"party", "product"} & {a.record_type for _, a in again.writes}
