"""Hostile raw transaction arguments sent to the pharma chaincode through the SDK, on the real network.

Each case sends what a careless or malicious client could send — the SDK's ``Contract`` with raw
arguments and transient entries, past the facades' own checks — and asserts a clear answer (see
:mod:`relsupport`): a :class:`fabrx.GatewayError` carrying a chaincode refusal with status 4xx whose
message names the expected field or rule, within 5 s, and no new block on the channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from bench.pharma_workload import PharmaWorkload, sample_parties
from relsupport import (
    BUYER,
    CALL_TIMEOUT_S,
    CHANNEL,
    REGULATOR,
    SELLER,
    Figures,
    channel_height,
    supply,
)

import fabrx
from fabrx.errors import GatewayError
from fabrx.pharma import PharmaClients, refusal_from
from fabrx_network import ConsortiumNetwork
from fabrx_pharma import canonical_json

_STATUS = re.compile(r"chaincode response (\d{3})")
BIG = "x" * (5 * 1024 * 1024)
"""A 5 MB argument: larger than gRPC's default 4 MB message limit between peer and chaincode."""
DEEP = "[" * 100_000 + "]" * 100_000
"""JSON nested 100,000 deep: Python's parser runs out of recursion long before."""


KNOWN_UNCLEAR: dict[str, str] = {}
"""Cases known to get an unclear answer, with why: each must still be unclear (the test fails once it is
fixed, to move it out of here), and each counts as unclear in the suite's figures."""


@dataclass(frozen=True)
class Case:
    """One hostile call: ``function`` as ``org`` with ``args`` and ``transient``; the answer must name
    ``names`` (a field, argument, function or rule)."""

    id: str
    function: str
    names: str
    args: tuple[str | bytes, ...] = ()
    transient: dict[str, str | bytes] | None = None
    org: str = SELLER
    submit: bool = True


@pytest.fixture(scope="module")
def workload(network: ConsortiumNetwork) -> Iterator[PharmaWorkload]:
    with PharmaClients(network) as clients:
        yield supply(clients, lanes=1, capacity=50)


def _invoice(workload: PharmaWorkload) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(canonical_json(workload.second_invoice(0, 0)))
    return result


def _set(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``record`` with ``path`` (``lines.0.quantity``) set to ``value`` (or removed)."""
    copy = json.loads(json.dumps(record))
    *parents, last = path.split(".")
    target = copy
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is _REMOVE:
        del target[key]
    else:
        target[key] = value
    return copy


_REMOVE = object()

# (id, path in the second invoice, hostile value, what the answer must name)
INVOICE_FIELDS: list[tuple[str, str, Any, str]] = [
    ("number-empty", "number", "", "number"),
    ("number-letters", "number", "ABCDEFGHIJKLMNOPQRST", "number"),
    ("number-int", "number", 26352008100010000000, "number"),
    ("number-null", "number", None, "number"),
    ("number-long", "number", "1" * 500, "number"),
    ("number-missing", "number", _REMOVE, "number"),
    ("kind-unknown", "kind", "third", "kind"),
    ("kind-int", "kind", 2, "kind"),
    ("kind-missing", "kind", _REMOVE, "kind"),
    ("seller-empty", "seller", "", "seller"),
    ("seller-other", "seller", "DistributorBMSP", "seller"),
    ("seller-huge", "seller", "S" * 100_000, "seller"),
    ("seller-list", "seller", ["DistributorAMSP"], "seller"),
    ("buyer-unknown", "buyer", "NoSuchHospitalMSP", "buyer"),
    ("buyer-control-chars", "buyer", "Hospital\x00A\u202eMSP", "buyer"),
    ("buyer-self", "buyer", SELLER, "buyer"),
    ("issue-date-word", "issue_date", "yesterday", "issue_date"),
    ("issue-date-invalid", "issue_date", "2026-13-45", "issue_date"),
    ("issue-date-int", "issue_date", 20260101, "issue_date"),
    ("issue-date-future", "issue_date", "2099-01-01", "dated"),
    ("issue-date-ancient", "issue_date", "0001-01-01", "dated"),
    ("lines-empty", "lines", [], "lines"),
    ("lines-string", "lines", "lines", "lines"),
    ("lines-object", "lines", {"0": {}}, "lines"),
    ("line-empty-object", "lines.0", {}, "lines[0]"),
    ("line-null", "lines.0", None, "lines[0]"),
    ("quantity-zero", "lines.0.quantity", 0, "quantity"),
    ("quantity-negative", "lines.0.quantity", -2, "quantity"),
    ("quantity-10e30", "lines.0.quantity", 10**30, "quantity"),
    ("quantity-10e30-text", "lines.0.quantity", "1" + "0" * 30, "quantity"),
    ("quantity-fraction", "lines.0.quantity", 1.5, "quantity"),
    ("quantity-text", "lines.0.quantity", "two", "quantity"),
    ("quantity-bool", "lines.0.quantity", True, "quantity"),
    ("quantity-nan-text", "lines.0.quantity", "NaN", "quantity"),
    ("quantity-exponent", "lines.0.quantity", "1e400", "quantity"),
    ("price-negative", "lines.0.unit_price", "-13.80", "unit_price"),
    ("price-nan", "lines.0.unit_price", "NaN", "unit_price"),
    ("price-infinity", "lines.0.unit_price", "Infinity", "unit_price"),
    ("price-huge-exponent", "lines.0.unit_price", "1e999999999", "unit_price"),
    ("price-word", "lines.0.unit_price", "cheap", "unit_price"),
    ("price-float", "lines.0.unit_price", 13.8, "unit_price"),
    ("price-too-many-digits", "lines.0.unit_price", "13.8" + "0" * 5000 + "1", "unit_price"),
    ("amount-wrong", "lines.0.amount", "99.99", "amount"),
    ("amount-huge", "lines.0.amount", "9" * 40, "amount"),
    ("total-wrong", "total", "1.00", "total"),
    ("total-negative", "total", "-27.60", "total"),
    ("product-unknown", "lines.0.product_id", "NO-SUCH-PRODUCT", "product"),
    ("batch-unknown", "lines.0.batch_number", "NOSUCHBATCH", "batch"),
    ("shipment-missing", "shipment", _REMOVE, "shipment"),
    ("shipment-null", "shipment", None, "shipment"),
    ("shipment-lines-empty", "shipment.lines", [], "shipment"),
    ("shipped-at-naive", "shipment.shipped_at", "2026-12-01T10:00:00", "shipped_at"),
    ("shipped-at-word", "shipment.shipped_at", "now", "shipped_at"),
    ("shipment-quantity-mismatch", "shipment.lines.0.quantity", 3, "quantit"),
    ("trace-code-short", "shipment.lines.0.trace_codes", ["123"], "trace_codes"),
    ("trace-code-letters", "shipment.lines.0.trace_codes", ["ABCDEFGHIJKLMNOPQRST", "X" * 20], "trace_codes"),
    ("trace-codes-repeated", "shipment.lines.0.trace_codes", ["90908108100000000000"] * 2, "trace"),
    ("trace-codes-string", "shipment.lines.0.trace_codes", "90908108100000000000", "trace_codes"),
    ("exemption-unknown", "exemption", "because", "exemption"),
    ("unknown-field", "discount", "10%", "discount"),
]

# Records that are not an invoice at all, in the transient entry ``record`` of issue_invoice.
RAW_RECORDS: list[tuple[str, str | bytes, str]] = [
    ("not-json", "this is not JSON", "record"),
    ("json-null", "null", "record"),
    ("json-list", "[]", "record"),
    ("json-number", "1", "record"),
    ("json-string", '"invoice"', "record"),
    ("empty", "", "record"),
    ("invalid-utf8", b"\xff\xfe\xfa{", "record"),
    ("nul-bytes", b'{"number":"\x00"}', "record"),
    ("deeply-nested", DEEP, "record"),
    ("nested-in-field", '{"number": ' + "[" * 50_000 + "]" * 50_000 + "}", "record"),
    ("bom-prefix", b"\xef\xbb\xbf{}", "record"),
    ("big", json.dumps({"number": BIG}), "record"),
]


def _cases(workload: PharmaWorkload) -> list[Case]:
    invoice = _invoice(workload)
    cases = [
        Case(
            f"issue_invoice/{name}",
            "issue_invoice",
            names,
            transient={"record": canonical(value, path, invoice)},
        )
        for name, path, value, names in INVOICE_FIELDS
    ]
    cases += [
        Case(f"issue_invoice/record-{name}", "issue_invoice", names, transient={"record": raw})
        for name, raw, names in RAW_RECORDS
    ]
    receipt = json.loads(canonical_json(workload.lanes[0].receipt))
    product = json.loads(canonical_json(workload.product))
    party = json.loads(canonical_json(sample_parties()[1][0]))
    cases += [
        Case("issue_invoice/no-transient", "issue_invoice", "record"),
        Case(
            "issue_invoice/record-in-arguments", "issue_invoice", "issue_invoice", args=(json.dumps(invoice),)
        ),
        Case(
            "record_receipt/other-receiver",
            "record_receipt",
            "receiver",
            transient={"record": json.dumps({**receipt, "receiver": "DistributorBMSP"})},
        ),
        Case(
            "record_receipt/unknown-invoice",
            "record_receipt",
            "invoice",
            transient={"record": json.dumps({**receipt, "invoice_number": "26352000000000000000"})},
        ),
        Case(
            "record_batch/as-distributor",
            "record_batch",
            "ROLE",
            transient={"record": canonical_json(workload.lanes[0].batches[0])},
        ),
        Case(
            "record_batch/not-json", "record_batch", "record", transient={"record": "{"}, org="Manufacturer"
        ),
        Case("register_product/as-distributor", "register_product", "ROLE", args=(json.dumps(product),)),
        Case("register_product/not-json", "register_product", "product", args=("{",), org="Manufacturer"),
        Case(
            "register_product/gtin-bad",
            "register_product",
            "gtin",
            args=(json.dumps({**product, "product_id": "HOSTILE-GTIN", "gtin": "123"}),),
            org="Manufacturer",
        ),
        Case(
            "register_product/approval-bad",
            "register_product",
            "approval_number",
            args=(json.dumps({**product, "product_id": "HOSTILE-APPROVAL", "approval_number": "x"}),),
            org="Manufacturer",
        ),
        Case("register_product/deep", "register_product", "product", args=(DEEP,), org="Manufacturer"),
        Case(
            "register_party/as-distributor",
            "register_party",
            "ROLE",
            args=(json.dumps({**party, "party_id": "HOSTILE-PARTY"}),),
        ),
        Case("register_party/not-json", "register_party", "party", args=("{",), org="Regulator"),
        Case(
            "register_party/uscc-bad",
            "register_party",
            "uscc",
            args=(json.dumps({"party_id": "HOSTILE-1", "role": "hospital", "name": "h", "uscc": "1"}),),
            org="Regulator",
        ),
        Case(
            "register_party/role-unknown",
            "register_party",
            "role",
            args=(json.dumps({"party_id": "HOSTILE-2", "role": "pirate", "name": "p", "uscc": "1"}),),
            org="Regulator",
        ),
        Case(
            "recall_batch/as-distributor", "recall_batch", "Recall", args=(json.dumps({"product_id": "X"}),)
        ),
        Case("recall_batch/not-json", "recall_batch", "recall", args=("not json",), org="Regulator"),
        Case("set_policy/as-distributor", "set_policy", "ROLE", args=("{}",)),
        Case("set_policy/not-json", "set_policy", "policy", args=("{",), org="Regulator"),
        Case("bootstrap/again", "bootstrap", "party_id", args=("{}",), org="Regulator"),
        Case("write_records/no-transient", "write_records", "records"),
        Case("write_records/not-json", "write_records", "records", transient={"records": "{"}),
        Case("write_records/not-a-list", "write_records", "records", transient={"records": "{}"}),
        Case("write_records/list-of-numbers", "write_records", "records", transient={"records": "[1, 2, 3]"}),
        Case("write_records/deep", "write_records", "records", transient={"records": DEEP}),
        Case(
            "write_records/bad-invoice",
            "write_records",
            "quantity",
            transient={
                "records": json.dumps(
                    [{"record_type": "invoice", "record": _set(invoice, "lines.0.quantity", -1)}]
                )
            },
        ),
        Case(
            "write_records/invoices-not-json",
            "write_records",
            "invoices",
            transient={"records": "[]", "invoices": "{"},
        ),
        Case("unknown-function", "no_such_function", "no_such_function"),
        Case("private-function-name", "_write", "_write"),
        Case("dunder-function-name", "__init__", "__init__"),
        Case("function-name-huge", "f" * 10_000, "f" * 100),
        Case("extra-argument", "issue_invoice", "issue_invoice", args=("surplus",)),
    ]
    reads = [
        Case("read_invoice/no-argument", "read_invoice", "read_invoice", submit=False),
        Case("read_invoice/too-many", "read_invoice", "read_invoice", args=("1", "2"), submit=False),
        Case("read_invoice/empty", "read_invoice", "number", args=("",), submit=False),
        Case(
            "read_invoice/unknown", "read_invoice", "NOT_FOUND", args=("26350000000000000000",), submit=False
        ),
        Case("read_invoice/5MB", "read_invoice", "number", args=(BIG,), submit=False),
        Case("read_invoice/invalid-utf8", "read_invoice", "number", args=(b"\xff\xfe",), submit=False),
        Case("read_invoice/nul", "read_invoice", "number", args=("\x00",), submit=False),
        Case("read_anchor/unknown-type", "read_anchor", "spaceship", args=("spaceship", "1"), submit=False),
        Case(
            "read_anchor/too-many",
            "read_anchor",
            "read_anchor",
            args=("invoice", "1", "2", "3"),
            submit=False,
        ),
        Case("read_stock/other-holder", "read_stock", "holder", args=(BUYER, "P", "B"), submit=False),
        Case("read_stock/missing-args", "read_stock", "read_stock", args=(SELLER,), submit=False),
        Case(
            "read_prescription/as-distributor",
            "read_prescription",
            "prescription",
            args=("RX-1",),
            submit=False,
        ),
        Case("trace_code_status/letters", "trace_code_status", "trace_code", args=("letters",), submit=False),
        Case("compliance_report/as-distributor", "compliance_report", "ROLE", submit=False),
        Case(
            "compliance_report/as-of-word",
            "compliance_report",
            "as_of",
            args=("yesterday",),
            org="Regulator",
            submit=False,
        ),
        Case(
            "compliance_report/as-of-naive",
            "compliance_report",
            "as_of",
            args=("2026-01-01T00:00:00",),
            org="Regulator",
            submit=False,
        ),
        Case(
            "diversion_signals/as-of-bad",
            "diversion_signals",
            "as_of",
            args=("2026-99-99",),
            org="Regulator",
            submit=False,
        ),
        Case(
            "trace/as-hospital",
            "trace",
            "ROLE",
            args=("RX-NONE",),
            org="HospitalA",
            submit=False,
        ),
        Case(
            "recall_scope/unknown",
            "recall_scope",
            "NOT_FOUND",
            args=("NOPE", "NOPE"),
            org="Regulator",
            submit=False,
        ),
        Case("verify_invoices/no-requests", "verify_invoices", "requests", org="HospitalA", submit=False),
        Case(
            "verify_invoices/not-json",
            "verify_invoices",
            "requests",
            transient={"requests": "{"},
            org="HospitalA",
            submit=False,
        ),
        Case(
            "verify_invoices/deep",
            "verify_invoices",
            "requests",
            transient={"requests": DEEP},
            org="HospitalA",
            submit=False,
        ),
        Case(
            "verify_invoices/deep-copy",
            "verify_invoices",
            "requests",
            transient={
                "requests": '[{"number": "1", "first_invoices": [' + "[" * 50_000 + "]" * 50_000 + "]}]"
            },
            org="HospitalA",
            submit=False,
        ),
        Case(
            "verify_invoices/number-not-text",
            "verify_invoices",
            "number",
            transient={"requests": '[{"number": 1}]'},
            org="HospitalA",
            submit=False,
        ),
        Case(
            "verify_invoices/copies-not-list",
            "verify_invoices",
            "first_invoices",
            transient={"requests": '[{"number": "1", "first_invoices": "x"}]'},
            org="HospitalA",
            submit=False,
        ),
        Case(
            "verify_invoices/copy-garbage",
            "verify_invoices",
            "number",
            transient={"requests": '[{"number": "26350000000000000000", "first_invoices": ["garbage"]}]'},
            org="HospitalA",
            submit=False,
        ),
    ]
    return cases + reads


def canonical(value: Any, path: str, invoice: dict[str, Any]) -> str:
    return json.dumps(_set(invoice, path, value), ensure_ascii=False)


def _org_msp(org: str) -> str:
    return org if org.endswith("MSP") else f"{org}MSP"


def _unclear(error: BaseException, names: str) -> str:
    """Why ``error`` is not a clear refusal naming ``names``, or "" when it is one."""
    if not isinstance(error, GatewayError):
        return f"not a fabrx GatewayError: {type(error).__name__}: {error}"
    if error.code in ("DEADLINE_EXCEEDED", "CANCELLED"):
        return f"no answer within {CALL_TIMEOUT_S:g} s ({error.code})"
    texts = [detail.message for detail in error.details] or [str(error)]
    statuses = [int(m[1]) for text in texts if (m := _STATUS.search(text))]
    if not statuses:
        return f"no chaincode answer (a crash or transport failure): {error}"
    if any(status >= 500 for status in statuses):
        return f"chaincode status {statuses}: {texts[0][:300]}"
    refusal = refusal_from(error)
    described = f"{refusal.rule} {refusal.field}: {refusal.message}" if refusal else " ".join(texts)
    if names.lower() not in described.lower():
        return f"the answer does not name {names!r}: {described[:300]}"
    return ""


def test_hostile_chaincode_arguments_are_refused_clearly_and_commit_nothing(
    network: ConsortiumNetwork,
    gateway_for: Callable[[str], fabrx.Gateway],
    workload: PharmaWorkload,
    figures: Figures,
) -> None:
    cases = _cases(workload)
    assert len(cases) >= 120, len(cases)
    before = channel_height(network, "DistributorA")
    problems: list[str] = []
    for case in cases:
        contract = gateway_for(case.org.removesuffix("MSP")).get_network(CHANNEL).get_contract("pharma")
        endorsers = sorted({_org_msp(case.org), REGULATOR})
        call = contract.submit_transaction if case.submit else contract.evaluate_transaction
        try:
            call(
                case.function,
                *case.args,
                transient=case.transient,
                endorsing_organizations=endorsers if case.submit else None,
                timeout=CALL_TIMEOUT_S,
            )
        except Exception as error:
            why = _unclear(error, case.names)
        else:
            why = "accepted"
        figures.hostile_case("chaincode", clear=not why)
        if case.id in KNOWN_UNCLEAR:
            if not why:
                problems.append(f"{case.id}: now answered clearly, remove it from KNOWN_UNCLEAR")
        elif why:
            problems.append(f"{case.id}: {why}")
    after = channel_height(network, "DistributorA")
    assert not problems, f"{len(problems)} of {len(cases)} unclear:\n" + "\n".join(problems)
    assert after == before, f"hostile calls committed {after - before} block(s)"
    # The chaincode still serves after the hostile calls.
    assert contract.evaluate_transaction("read_policy", timeout=CALL_TIMEOUT_S)
