"""``fabrx pharma --org ORG ...``: the two-invoice chaincode as each organization uses it.

Thin commands over :mod:`fabrx.pharma`: each reads its input (records as JSON files in the form
``fabrx_pharma`` records write with ``to_dict``), calls one facade method as the organization's SDK
client, and renders the result. Refusals print their rule and field and exit 1.

A party hosted on an organization's node acts with ``--org HOST --party PARTY_ID --client-msp DIR``,
where ``DIR`` is the MSP folder of its client (enrolled with ``fabrx.party=PARTY_ID``).

On a member's own host (``fabrx member``), ``--member-file FILE`` acts from that member's own deployment
(``--run-dir``, default ``.fabrx/member-<name>``): its run directory holds its identities only, so it acts as
its own organization (``--org`` may be left out) and refuses any other.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from fabrx.pharma import (
    Anchor,
    Change,
    Distributor,
    Hospital,
    InvoiceVerification,
    Manufacturer,
    PharmaClient,
    PharmaClients,
    Regulator,
)
from fabrx.pharma._bulk import DEFAULT_BATCH_SIZE
from fabrx.pharma.clients import NetworkLike
from fabrx.pharma.reference import record_reference, render_markdown
from fabrx_network.member import open_member
from fabrx_network.operations import open_network
from fabrx_pharma import (
    AdverseEvent,
    Batch,
    Invoice,
    Party,
    Prescription,
    Product,
    Recall,
    Receipt,
    RecordError,
    ValidationError,
    record_from_json,
    render_findings,
    render_recall_scope,
    render_trace,
)
from fabrx_pharma.identifiers import validate_record_id
from fabrx_pharma.records import Record

from .main import CliContext, cli

F = TypeVar("F", bound=PharmaClient)
R = TypeVar("R", bound=Record)

_FACADES: dict[str, type[PharmaClient]] = {
    "regulator": Regulator,
    "manufacturer": Manufacturer,
    "distributor": Distributor,
    "hospital": Hospital,
}


@dataclasses.dataclass
class PharmaContext:
    cli: CliContext
    org: str | None
    party: str | None = None
    client_msp: Path | None = None
    member_file: Path | None = None


@cli.group()
@click.option("--org", help="Organization whose SDK client acts (e.g. HospitalA or HospitalAMSP). Required.")
@click.option("--party", help="Party id of a party hosted by --org, to act for it (needs --client-msp).")
@click.option(
    "--client-msp",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="MSP folder of the hosted party's client (enrolled with fabrx.party=<--party>).",
)
@click.option(
    "--member-file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    envvar="FABRX_MEMBER_FILE",
    help="Act from this member's own deployment (its member file; --run-dir is its run directory), "
    "which holds its own identities only [env: FABRX_MEMBER_FILE].",
)
@click.pass_context
def pharma(
    ctx: click.Context, org: str | None, party: str | None, client_msp: Path | None, member_file: Path | None
) -> None:
    """Write records and run checks as one organization (or hosted party) of the pharma consortium."""
    # --org is checked where a command uses it, so `fabrx pharma COMMAND --help` works without it.
    if (party is None) != (client_msp is None):
        raise click.UsageError("--party and --client-msp go together")
    ctx.obj = PharmaContext(
        cli=ctx.find_object(CliContext) or CliContext(None, None),
        org=org,
        party=party,
        client_msp=client_msp,
        member_file=member_file,
    )


def _own_deployment(obj: PharmaContext, member_file: Path) -> tuple[NetworkLike, Any]:
    """A member's own deployment and its organization; ``--org`` may only name that organization."""
    deployment = open_member(member_file, obj.cli.run_dir)
    org = deployment.org
    if obj.org is not None and obj.org not in (org.name, org.msp_id):
        raise click.BadParameter(
            f"{obj.org!r} is not the organization of {member_file} ({org.name}): its identities are not on "
            "this host",
            param_hint="--org",
        )
    deployment.client_msp(org)  # NetworkError (run `fabrx member init`) when it has no identities yet
    return deployment, org


@contextmanager
def _facade(obj: PharmaContext, expected: type[F]) -> Iterator[F]:
    net: NetworkLike
    if obj.member_file is not None:
        net, org = _own_deployment(obj, obj.member_file)
    else:
        if obj.org is None:
            raise click.UsageError("Missing option '--org' (fabrx pharma --org ORG COMMAND).")
        network = open_network(obj.cli.config_path, obj.cli.run_dir)
        org = next((o for o in network.consortium.orgs if obj.org in (o.name, o.msp_id)), None)
        if org is None:
            raise click.BadParameter(f"no organization {obj.org!r} in the consortium", param_hint="--org")
        network.require_up(org)
        net = network
    if obj.party is not None and obj.client_msp is not None:
        # A hosted party's role is on the ledger, not in the consortium file: the chaincode checks it.
        with PharmaClients(net) as clients:
            yield clients.hosted(expected, obj.party, org.msp_id, obj.client_msp)
        return
    role = str(getattr(org.role, "value", org.role))
    cls = _FACADES.get(role)
    if cls is None or not issubclass(cls, expected):
        raise click.UsageError(f"{org.name} is a {role}; this command is for a {expected.__name__.lower()}")
    with PharmaClients(net) as clients:
        yield clients.facade(expected, org.msp_id)


def _record(cls: type[R], path: Path) -> R:
    try:
        return cls.from_json(path.read_bytes())
    except RecordError as exc:
        raise click.BadParameter(str(exc), param_hint=str(path)) from None


def _anchor(obj: PharmaContext, anchor: Anchor) -> None:
    obj.cli.output.result(
        anchor.as_dict(),
        lambda d: (
            f"{d['record_type']} {d['key']} written by {d['submitter']} in transaction "
            f"{d['transaction_id']} ({', '.join(d['collections']) or 'public'})"
        ),
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


_file = click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))


def _writer(name: str, cls: type[R], facade: type[F], call: Callable[[F, R], Anchor], help_text: str) -> None:
    @pharma.command(name=name, help=help_text)
    @_file
    @click.pass_obj
    def command(obj: PharmaContext, file: Path) -> None:
        record = _record(cls, file)
        with _facade(obj, facade) as client:
            _anchor(obj, call(client, record))


_writer(
    "register-party", Party, Regulator, Regulator.register_party, "Register (or update) a party (regulator)."
)
_writer("recall", Recall, Regulator, Regulator.recall_batch, "Recall a batch (regulator).")
_writer(
    "register-product",
    Product,
    Manufacturer,
    Manufacturer.register_product,
    "Register a product (manufacturer).",
)
_writer(
    "record-batch",
    Batch,
    Manufacturer,
    Manufacturer.record_batch,
    "Record a production batch (manufacturer).",
)
_writer(
    "issue-first-invoice",
    Invoice,
    Manufacturer,
    Manufacturer.issue_invoice,
    "Issue a first (or direct) invoice with its shipment (manufacturer).",
)
_writer(
    "issue-invoice",
    Invoice,
    Distributor,
    Distributor.issue_invoice,
    "Issue a second or transfer invoice with its shipment (distributor).",
)
_writer(
    "receive",
    Receipt,
    Distributor,
    Distributor.record_receipt,
    "Record the receipt of a purchase (distributor).",
)
_writer(
    "hospital-receive",
    Receipt,
    Hospital,
    Hospital.record_receipt,
    "Record the receipt of a purchase (hospital).",
)
_writer(
    "record-prescription",
    Prescription,
    Hospital,
    Hospital.record_prescription,
    "Record a prescription (hospital).",
)
_writer(
    "report-adverse-event",
    AdverseEvent,
    Hospital,
    Hospital.report_adverse_event,
    "Report an adverse event (hospital).",
)


def _render_verification(v: InvoiceVerification) -> str:
    lines = [
        f"invoice {v.number} ({v.kind.value}, {v.seller} → {v.buyer}): "
        + ("VERIFIED" if v.verified else "NOT VERIFIED"),
        f"  genuine: {v.genuine}; invoice, goods and receipt agree: {v.receipt_matches}",
    ]
    lines += [
        f"  first-invoice copy {c.index} ({c.number}): {'genuine' if c.genuine else 'NOT genuine'}"
        for c in v.first_invoices
    ]
    lines += [f"  {d.code} {d.field}: {d.message}" for d in v.discrepancies]
    return "\n".join(lines)


@pharma.command()
@click.argument("numbers", nargs=-1, required=True)
@click.option(
    "--first-invoice-copy",
    "copies",
    multiple=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="JSON of a first invoice the distributor handed over (repeatable; checked by hash).",
)
@click.pass_obj
def verify(obj: PharmaContext, numbers: tuple[str, ...], copies: tuple[Path, ...]) -> None:
    """Verify invoices addressed to this hospital, in one call across suppliers (验票)."""
    first = [_record(Invoice, path) for path in copies]
    with _facade(obj, Hospital) as hospital:
        results = hospital.verify_invoices({number: first for number in numbers})
    data = [{**_jsonable(dataclasses.asdict(r)), "verified": r.verified} for r in results]
    obj.cli.output.result(
        data,
        lambda _: "\n".join(_render_verification(r) for r in results),
        ok=all(r.verified for r in results),  # a script must see a failed verification
    )


@pharma.command(name="write-records")
@_file
@click.option("--batch-size", default=DEFAULT_BATCH_SIZE, show_default=True, help="Records per transaction.")
@click.option("--in-flight", default=4, show_default=True, help="Transactions in flight at once.")
@click.pass_obj
def write_records(obj: PharmaContext, file: Path, batch_size: int, in_flight: int) -> None:
    """Write many records of this party (an ERP's day: invoices, receipts, prescriptions ...) in few
    transactions. FILE is a JSON list of {"record_type": "invoice", "record": {...}}. Records already on
    the ledger are not written again; refused ones are listed with their rule and field (exit 3)."""
    try:
        entries = json.loads(file.read_bytes())
        records = [record_from_json(e["record_type"], json.dumps(e["record"])) for e in entries]
    except (ValueError, KeyError, TypeError, RecordError) as exc:
        raise click.BadParameter(
            f"not a list of {{record_type, record}}: {exc}", param_hint=str(file)
        ) from None
    with _facade(obj, PharmaClient) as client:
        result = client.write_records(records, batch_size=batch_size, in_flight=in_flight)
    data = {
        "written": len(result.anchors) - len(result.existing),
        "already_on_ledger": len(result.existing),
        "transactions": result.transactions,
        "refused": [dataclasses.asdict(r) for r in result.refused],
    }
    obj.cli.output.result(
        data,
        lambda d: "\n".join(
            [
                f"{d['written']} written, {d['already_on_ledger']} already on the ledger, "
                f"{len(d['refused'])} refused, in {d['transactions']} transactions",
                *(
                    f"refused: records[{r['index']}] {r['rule']} {r['field']}: {r['message']}"
                    for r in d["refused"]
                ),
            ]
        ),
        ok=not result.refused,
    )


def _moment(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time with a UTC offset from an option; ``click.BadParameter`` naming it otherwise."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time; give one with its offset, e.g. 2025-06-30T00:00:00+08:00",
            param_hint=name,
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no UTC offset; add one, e.g. +08:00", param_hint=name)
    return moment


@pharma.command()
@click.option(
    "--as-of", "as_of", help="ISO 8601 time with offset; only receipts overdue by then are reported."
)
@click.pass_obj
def report(obj: PharmaContext, as_of: str | None) -> None:
    """The regulator's compliance report: every finding with its reason."""
    moment = _moment(as_of, "--as-of")
    with _facade(obj, Regulator) as regulator:
        findings = regulator.compliance_report(as_of=moment)
    obj.cli.output.result(
        [_jsonable(dataclasses.asdict(f)) for f in findings], lambda _: render_findings(findings)
    )


@pharma.command()
@click.pass_obj
def diversion(obj: PharmaContext) -> None:
    """Diversion (串货), sales beyond stock and resale (回流药) signals (regulator)."""
    with _facade(obj, Regulator) as regulator:
        findings = regulator.diversion_signals()
    obj.cli.output.result(
        [_jsonable(dataclasses.asdict(f)) for f in findings], lambda _: render_findings(findings)
    )


@pharma.command()
@click.option("--prescription", "prescription_id", help="Prescription id to trace.")
@click.option("--patient", "patient_pseudonym", help="Patient pseudonym: trace all their prescriptions.")
@click.pass_obj
def trace(obj: PharmaContext, prescription_id: str | None, patient_pseudonym: str | None) -> None:
    """Trace a prescription or a patient back to batch, manufacturer and raw-material lots (regulator)."""
    if (prescription_id is None) == (patient_pseudonym is None):
        raise click.UsageError("give exactly one of --prescription and --patient")
    if prescription_id is not None:
        try:
            validate_record_id(prescription_id, "prescription_id")
        except ValidationError:
            raise click.BadParameter(
                f"not a prescription id ({len(prescription_id)} characters): 1-64 letters, digits, "
                "'.', '_', '/' or '-', starting with a letter or digit",
                param_hint="--prescription",
            ) from None
    with _facade(obj, Regulator) as regulator:
        traces = regulator.trace(prescription_id=prescription_id, patient_pseudonym=patient_pseudonym)
    obj.cli.output.result(
        [_jsonable(dataclasses.asdict(t)) for t in traces],
        lambda _: "\n".join(render_trace(t) for t in traces) or "no prescription found",
    )


@pharma.command(name="recall-scope")
@click.argument("product_id")
@click.argument("batch_number")
@click.pass_obj
def recall_scope(obj: PharmaContext, product_id: str, batch_number: str) -> None:
    """Every distributor, hospital and prescription a batch reached (regulator)."""
    with _facade(obj, Regulator) as regulator:
        scope = regulator.recall_scope(product_id, batch_number)
    obj.cli.output.result(_jsonable(dataclasses.asdict(scope)), lambda _: render_recall_scope(scope))


@pharma.command(name="read-invoice")
@click.argument("number")
@click.pass_obj
def read_invoice(obj: PharmaContext, number: str) -> None:
    """Read a full invoice (its two parties and regulators only; from the regulator's peer while the
    own node keeps no copy)."""
    with _facade(obj, PharmaClient) as client:
        invoice = client.read_invoice(number)
    obj.cli.output.result(invoice.to_dict(), lambda d: json.dumps(d, indent=2, ensure_ascii=False))


@pharma.command()
@click.argument("product_id")
@click.argument("batch_number")
@click.option("--holder", help="Party id whose stock to read (default: the acting party's own).")
@click.pass_obj
def stock(obj: PharmaContext, product_id: str, batch_number: str, holder: str | None) -> None:
    """A holder's stock of a batch."""
    with _facade(obj, PharmaClient) as client:
        position = client.read_stock(product_id, batch_number, holder=holder)
    data = {**dataclasses.asdict(position), "on_hand": position.on_hand}
    obj.cli.output.result(data, lambda d: ", ".join(f"{k} {v}" for k, v in d.items()))


@pharma.command()
@click.pass_obj
def fields(obj: PharmaContext) -> None:
    """Print the field reference of every record type, as Markdown (docs/records.md is this output).

    Needs no network and no --org. With --json: the same reference as data (records, parts, choices and
    rule codes), for tools that build forms or mappings from it.
    """
    reference = record_reference()
    obj.cli.output.result(dataclasses.asdict(reference), lambda _: render_markdown(reference).rstrip("\n"))


# --- history (regulator) ------------------------------------------------------------------------------------


@pharma.group()
def history() -> None:
    """What changed, newest first, with transaction id and time (regulator): the policy, a party's
    registrations, the transactions that wrote a record."""


def _changes(obj: PharmaContext, changes: list[Change], summary: Callable[[Change], str]) -> None:
    def text(_: object) -> str:
        lines = [
            f"{c.timestamp.isoformat() if c.timestamp else '-'}  {c.transaction_id}  "
            f"{'deleted' if c.is_delete else summary(c)}"
            for c in changes
        ]
        return "\n".join(lines) or "no changes"

    obj.cli.output.result(
        [
            {
                "transaction_id": c.transaction_id,
                "timestamp": c.timestamp.isoformat() if c.timestamp else None,
                "is_delete": c.is_delete,
                "value": c.value,
            }
            for c in changes
        ],
        text,
    )


@history.command(name="policy")
@click.pass_obj
def history_policy(obj: PharmaContext) -> None:
    """Every change of the two-invoice policy; each is in force from its time on."""
    with _facade(obj, Regulator) as regulator:
        changes = regulator.policy_history()
    _changes(obj, changes, lambda c: json.dumps(c.value, sort_keys=True))


@history.command(name="party")
@click.argument("party_id")
@click.pass_obj
def history_party(obj: PharmaContext, party_id: str) -> None:
    """Every registration of a party: first, updates, activation changes."""
    with _facade(obj, Regulator) as regulator:
        changes = regulator.party_history(party_id)

    def summary(change: Change) -> str:
        party = change.party
        return f"{party.role.value} hosted by {party.host_msp_id}, {'active' if party.active else 'inactive'}"

    _changes(obj, changes, summary)


@history.command(name="record")
@click.argument("record_type")
@click.argument("key")
@click.argument("batch_number", required=False)
@click.pass_obj
def history_record(obj: PharmaContext, record_type: str, key: str, batch_number: str | None) -> None:
    """The transactions that wrote a record's anchor (RECORD_TYPE KEY, or batch/recall PRODUCT BATCH)."""
    with _facade(obj, Regulator) as regulator:
        changes = regulator.record_history(record_type, key, batch_number)
    _changes(obj, changes, lambda c: f"written by {c.anchor.submitter}, hash {c.anchor.hash}")
