"""Hostile arguments to the SDK: endpoints, identities, contracts, ledger queries and the pharma facades.

Each case asserts a clear error (see :mod:`relsupport`): an exception of fabrx's error tree whose
message names what is wrong, within 5 s, and nothing sent that commits (the channel's height is
unchanged). Property-based cases (hypothesis) throw generated values at the record readers and at
endpoint addresses.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bench.pharma_workload import PharmaWorkload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relsupport import CALL_TIMEOUT_S, CHANNEL, SELLER, Figures, bounded, channel_height, supply, typed

import fabrx
from fabrx.endpoint import MAX_PORT, check_address
from fabrx.errors import ArgumentError
from fabrx.pharma import PharmaClients
from fabrx_network import ConsortiumNetwork
from fabrx_pharma import Invoice, InvoiceNumber, Party, Product, Receipt, canonical_json
from fabrx_pharma.errors import RecordError

SdkCase = tuple[str, Callable[[], object], str]
"""(id, the call, what the error must name)."""


def _unclear(call: Callable[[], object], names: str) -> str:
    """Why ``call`` does not fail clearly naming ``names`` within 5 s, or "" when it does."""
    try:
        bounded(call)
    except TimeoutError:
        return f"no answer within {CALL_TIMEOUT_S:g} s"
    except Exception as error:
        if not typed(error):
            return f"not a fabrx error: {type(error).__name__}: {error}"
        if names.lower() not in str(error).lower():
            return f"{type(error).__name__} does not name {names!r}: {str(error)[:300]}"
        return ""
    return "accepted"


def _run(cases: list[SdkCase], figures: Figures, category: str) -> list[str]:
    problems = []
    for case_id, call, names in cases:
        why = _unclear(call, names)
        figures.hostile_case(category, clear=not why)
        if why:
            problems.append(f"{case_id}: {why}")
    return problems


def test_hostile_endpoints_identities_and_gateway_arguments_are_refused_clearly(
    tmp_path: Path, figures: Figures
) -> None:
    garbage = tmp_path / "garbage-msp"
    for folder in ("signcerts", "keystore", "cacerts"):
        (garbage / folder).mkdir(parents=True)
    (garbage / "signcerts" / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    (garbage / "keystore" / "key_sk").write_bytes(b"\x00\x01binary")
    empty = tmp_path / "empty-msp"
    empty.mkdir()
    binary = tmp_path / "binary.pem"
    binary.write_bytes(bytes(range(256)))

    cases: list[SdkCase] = [
        ("endpoint/port-99999", lambda: fabrx.Endpoint(address="127.0.0.1:99999"), "port"),
        ("endpoint/port-0", lambda: fabrx.Endpoint(address="127.0.0.1:0"), "port"),
        ("endpoint/port-negative", lambda: fabrx.Endpoint(address="127.0.0.1:-1"), "port"),
        ("endpoint/port-letters", lambda: fabrx.Endpoint(address="127.0.0.1:70x"), "port"),
        ("endpoint/port-arabic-digits", lambda: fabrx.Endpoint(address="127.0.0.1:٧٠٥١"), "port"),
        ("endpoint/no-port", lambda: fabrx.Endpoint(address="localhost"), "host:port"),
        ("endpoint/empty", lambda: fabrx.Endpoint(address=""), "host:port"),
        ("endpoint/only-port", lambda: fabrx.Endpoint(address=":7051"), "host:port"),
        ("endpoint/ipv6-unbracketed", lambda: fabrx.Endpoint(address="::1:7051"), "IPv6"),
        ("endpoint/not-text", lambda: fabrx.Endpoint(address=7051), "string"),  # type: ignore[arg-type]
        ("endpoint/none", lambda: fabrx.Endpoint(address=None), "string"),  # type: ignore[arg-type]
        (
            "endpoint/missing-tls-file",
            lambda: fabrx.Endpoint.from_files("127.0.0.1:7051", tls_root_cert=tmp_path / "nope.pem"),
            "nope.pem",
        ),
        (
            "endpoint/tls-file-is-a-folder",
            lambda: fabrx.Endpoint.from_files("127.0.0.1:7051", tls_root_cert=tmp_path),
            str(tmp_path),
        ),
        ("msp/missing-folder", lambda: fabrx.load_msp_folder("XMSP", tmp_path / "nothing"), "signcerts"),
        ("msp/empty-folder", lambda: fabrx.load_msp_folder("XMSP", empty), "signcerts"),
        ("msp/garbage-certificate", lambda: fabrx.load_msp_folder("XMSP", garbage), "cert"),
        ("identity/binary-certificate", lambda: fabrx.Identity.from_pem_file("XMSP", binary), "certificate"),
        (
            "identity/missing-file",
            lambda: fabrx.Identity.from_pem_file("XMSP", tmp_path / "no.pem"),
            "no.pem",
        ),
        ("connect/neither", lambda: fabrx.connect(identity=None), "endpoint"),  # type: ignore[arg-type]
    ]
    problems = _run(cases, figures, "sdk")
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def workload(network: ConsortiumNetwork) -> Iterator[tuple[PharmaClients, PharmaWorkload]]:
    with PharmaClients(network) as clients:
        yield clients, supply(clients, lanes=1, capacity=50)


def test_hostile_contract_ledger_and_facade_arguments_are_refused_clearly_and_send_nothing(
    network: ConsortiumNetwork,
    gateway_for: Callable[[str], fabrx.Gateway],
    workload: tuple[PharmaClients, PharmaWorkload],
    figures: Figures,
) -> None:
    clients, supplied = workload
    channel = gateway_for("DistributorA").get_network(CHANNEL)
    contract = channel.get_contract("pharma")
    distributor = clients.distributor(SELLER)
    invoice = supplied.second_invoice(0, 1)
    line = invoice.lines[0]

    def submit(*args: Any, **kwargs: Any) -> Callable[[], object]:
        return lambda: contract.submit_transaction("read_policy", *args, **kwargs)

    def changed(**fields: Any) -> Invoice:
        return dataclasses.replace(invoice, **fields)

    cases: list[SdkCase] = [
        ("contract/argument-int", submit(1), "argument"),
        ("contract/argument-none", submit(None), "argument"),
        ("contract/argument-dict", submit({"a": 1}), "argument"),
        ("contract/argument-float-nan", submit(math.nan), "argument"),
        ("contract/transient-int", submit(transient={"record": 5}), "transient"),
        ("contract/transient-list", submit(transient=[("a", "b")]), "transient"),
        (
            "contract/endorsers-string",
            submit(endorsing_organizations="RegulatorMSP"),
            "endorsing_organizations",
        ),
        ("contract/endorsers-unknown", submit(endorsing_organizations=["NoSuchMSP"]), "NoSuchMSP"),
        ("contract/timeout-negative", submit(timeout=-1), "timeout"),
        ("contract/timeout-zero", submit(timeout=0), "timeout"),
        ("contract/timeout-nan", submit(timeout=math.nan), "timeout"),
        ("contract/timeout-text", submit(timeout="5"), "timeout"),
        ("contract/collections-unknown", submit(collections=["nope"]), "nope"),
        (
            "contract/unknown-chaincode",
            lambda: channel.get_contract("no-such-chaincode").evaluate_transaction(
                "x", timeout=CALL_TIMEOUT_S
            ),
            "no-such-chaincode",
        ),
        (
            "contract/unknown-channel",
            lambda: (
                gateway_for("DistributorA")
                .get_network("no-such-channel")
                .get_contract("pharma")
                .evaluate_transaction("read_policy", timeout=CALL_TIMEOUT_S)
            ),
            "no-such-channel",
        ),
        ("status/not-hex", lambda: channel.transaction_status("not-a-transaction-id"), "transaction"),
        ("status/empty", lambda: channel.transaction_status(""), "transaction"),
        ("status/too-long", lambda: channel.transaction_status("a" * 65), "transaction"),
        ("status/int", lambda: channel.transaction_status(5), "transaction"),  # type: ignore[arg-type]
        ("commit-status/not-hex", lambda: channel.commit_status("zz", timeout=1), "transaction"),
        ("events/start-negative", lambda: channel.chaincode_events("pharma", start_block=-1), "start block"),
        ("facade/quantity-zero", lambda: distributor.issue_invoice(_line(invoice, quantity=0)), "quantity"),
        (
            "facade/quantity-negative",
            lambda: distributor.issue_invoice(_line(invoice, quantity=-5)),
            "quantity",
        ),
        (
            "facade/price-negative",
            lambda: distributor.issue_invoice(_line(invoice, unit_price=Decimal("-1"))),
            "unit_price",
        ),
        (
            "facade/price-nan",
            lambda: distributor.issue_invoice(_line(invoice, unit_price=Decimal("NaN"))),
            "unit_price",
        ),
        (
            "facade/amount-wrong",
            lambda: distributor.issue_invoice(_line(invoice, amount=Decimal("1.00"))),
            "amount",
        ),
        (
            "facade/seller-other",
            lambda: distributor.issue_invoice(changed(seller="DistributorBMSP")),
            "seller",
        ),
        ("facade/no-lines", lambda: distributor.issue_invoice(changed(lines=())), "lines"),
        ("facade/total-wrong", lambda: distributor.issue_invoice(changed(total=Decimal("0.01"))), "total"),
        (
            "facade/batch-empty",
            lambda: distributor.issue_invoice(_line(invoice, batch_number="")),
            "batch_number",
        ),
        ("facade/read-empty-number", lambda: distributor.read_invoice(""), "number"),
        ("domain/invoice-number", lambda: InvoiceNumber.parse("abc"), "number"),
        ("domain/invoice-not-object", lambda: Invoice.from_dict("x"), "object"),
        ("domain/invoice-none", lambda: Invoice.from_dict(None), "required"),
        ("domain/party-empty", lambda: Party.from_dict({}), "party_id"),
        ("domain/product-gtin", lambda: Product.from_dict({"gtin": "1"}), "gtin"),
        ("domain/receipt-list", lambda: Receipt.from_dict([]), "object"),
    ]
    assert line.quantity > 0
    before = channel_height(network, "DistributorA")
    problems = _run(cases, figures, "sdk")
    assert not problems, "\n".join(problems)
    assert channel_height(network, "DistributorA") == before


def _line(invoice: Invoice, **fields: Any) -> Invoice:
    line = dataclasses.replace(invoice.lines[0], **fields)
    return dataclasses.replace(invoice, lines=(line,))


# --- property-based ------------------------------------------------------------------------------------

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    copy = json.loads(json.dumps(value))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return copy


_INVOICE: dict[str, Any] = json.loads(
    canonical_json(
        PharmaWorkload(
            manufacturer="ManufacturerMSP",
            distributor=SELLER,
            hospital="HospitalAMSP",
            now=datetime(2026, 6, 1, tzinfo=UTC),
            lanes=1,
            lines=2,
            capacity=10,
        ).second_invoice(0, 0)
    )
)
_PATHS = _paths(_INVOICE)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0, max_value=len(_PATHS) - 1), value=JSON_VALUES)
def test_any_value_in_any_field_of_an_invoice_is_read_or_refused_naming_a_field(
    index: int, value: Any, figures: Figures
) -> None:
    path = _PATHS[index]
    record = _replaced(_INVOICE, path, value)
    try:
        bounded(lambda: Invoice.from_dict(record))
    except RecordError as error:
        clear = bool(error.problems) and all(problem.field for problem in error.problems)
    except Exception:
        clear = False
    else:
        clear = True
    figures.hostile_case("sdk-property", clear=clear)
    assert clear, f"{'.'.join(map(str, path))} = {value!r}"


@settings(max_examples=150, deadline=None)
@given(address=st.text(max_size=30) | st.builds(lambda h, p: f"{h}:{p}", st.text(max_size=10), st.integers()))
def test_any_endpoint_address_is_accepted_only_with_a_valid_port_or_refused_naming_it(
    address: str, figures: Figures
) -> None:
    try:
        check_address(address)
    except ArgumentError as error:
        clear = repr(address) in str(error) or "address" in str(error)
    except Exception:
        clear = False
    else:
        port = address.rpartition(":")[2]
        scheme = address.startswith("unix:") or "://" in address
        clear = scheme or (port.isascii() and port.isdigit() and 1 <= int(port) <= MAX_PORT)
    figures.hostile_case("sdk-property", clear=clear)
    assert clear, repr(address)
