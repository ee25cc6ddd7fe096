"""``fabrx supervision``: the supervision store from the command line (thin commands over
``fabrx_pharma_supervision``).

    fabrx supervision --store URL upgrade                       create or migrate the store's schema
    fabrx supervision --store URL feed --org Regulator          apply the org's peer's blocks up to its height
    fabrx supervision --store URL report [--as-of TIME]         the compliance report
    fabrx supervision --store URL findings [--rule R] [--party P] [--product ID] [--region 3501] ...
    fabrx supervision --store URL export findings|stock|purchases|sales [--party P] --out FILE.csv
    fabrx supervision --store URL code TRACE_CODE               one package from raw materials to patients
    fabrx supervision --store URL generate --lines N [--seed S] [--checked]   a synthetic province

``--store`` defaults to ``$FABRX_SUPERVISION_STORE``: ``sqlite:///path.db`` or ``postgresql://...``.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

import fabrx
from fabrx_network.operations import open_network
from fabrx_pharma import RuleId
from fabrx_pharma_supervision import (
    FindingFilter,
    LedgerFeed,
    NotFound,
    StoredFinding,
    SupervisionError,
    SupervisionStore,
)
from fabrx_pharma_supervision.migrate import current_revision
from fabrx_pharma_supervision.province import Province, ProvinceSpec, load_province, write_province

from .main import CliContext, cli


def _context(ctx: click.Context) -> tuple[CliContext, str]:
    obj = ctx.find_object(CliContext) or CliContext(None, None)
    url = ctx.meta.get("supervision_store")
    if not url:
        raise click.UsageError("name the store with --store URL (or FABRX_SUPERVISION_STORE)")
    return obj, str(url)


def _open(url: str, *, migrate: bool = False) -> SupervisionStore:
    try:
        return SupervisionStore.open(url, migrate=migrate)
    except SupervisionError as exc:
        raise click.ClickException(f"supervision store: {exc}") from None


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "an ISO 8601 time with offset, e.g. 2025-06-30T00:00:00+08:00", param_hint=name
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the UTC offset, e.g. +08:00", param_hint=name)
    return moment


def _finding_data(item: StoredFinding) -> dict[str, Any]:
    return item.to_row()


def _render_findings(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no findings"
    return "\n".join(f"{r['rule']:<22} {r['subject']:<34} {r['reason']}" for r in rows)


@cli.group()
@click.option(
    "--store",
    envvar="FABRX_SUPERVISION_STORE",
    metavar="URL",
    help="The store (sqlite:///... or postgresql://...).",
)
@click.pass_context
def supervision(ctx: click.Context, store: str | None) -> None:
    """The regulator's supervision store: a relational projection of the ledger (docs/supervision.md)."""
    ctx.meta["supervision_store"] = store


@supervision.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Create the store's schema, or migrate it to this version's."""
    obj, url = _context(ctx)
    with _open(url, migrate=True) as store, store.transaction() as connection:
        revision = current_revision(connection)
    obj.output.result(
        {"store": store.backend, "revision": revision},
        lambda d: f"{d['store']} store at revision {d['revision']}",
    )


@supervision.command()
@click.option(
    "--org", required=True, help="Member organization whose own peer feeds the store (e.g. Regulator)."
)
@click.option("--channel", default="pharma", show_default=True)
@click.option(
    "--until-block", type=int, help="Stop after this block (default: the peer's height when started)."
)
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds before giving up.")
@click.pass_context
def feed(ctx: click.Context, org: str, channel: str, until_block: int | None, timeout: float) -> None:
    """Apply the blocks of the org's own peer (with the private data it may read) after the checkpoint."""
    obj, url = _context(ctx)
    net = open_network(obj.config_path, obj.run_dir)
    member = next((o for o in net.consortium.orgs if org in (o.name, o.msp_id)), None)
    if member is None:
        raise click.BadParameter(f"no organization {org!r} in the consortium", param_hint="--org")
    net.require_up(member)
    if until_block is None:
        with net.peer_admin(member, member.peers[0]) as admin:
            until_block = int(admin.chain_info(channel).height) - 1
    identity, signer, _ = fabrx.load_msp_folder(member.msp_id, net.client_msp(member))
    with (
        _open(url, migrate=True) as store,
        fabrx.connect(
            net.peer_endpoint(member, member.peers[0]), identity=identity, signer=signer
        ) as gateway,
    ):
        try:
            progress = LedgerFeed(store, gateway.get_network(channel)).run(
                until_block=until_block, timeout=timeout
            )
        except SupervisionError as exc:
            raise click.ClickException(str(exc)) from None
    data = {
        "blocks": progress.blocks,
        "writes": progress.writes,
        "last_block": progress.last_block,
        "missing": len(progress.missing),
    }
    obj.output.result(
        data,
        lambda d: (
            f"applied {d['blocks']} blocks ({d['writes']} writes) up to block {d['last_block']}; "
            f"{d['missing']} private copies not readable here"
        ),
    )


@supervision.command()
@click.option("--as-of", help="Missing receipts due at this time (ISO 8601 with offset); default: all.")
@click.pass_context
def report(ctx: click.Context, as_of: str | None) -> None:
    """The compliance report, as fabrx_pharma.compliance_report gives it over the same ledger."""
    obj, url = _context(ctx)
    with _open(url) as store:
        found = store.compliance_report(as_of=_time(as_of, "--as-of"))
    rows = [
        {"rule": f.rule.value, "severity": f.severity.value, "subject": f.subject, "reason": f.reason}
        for f in found
    ]
    obj.output.result(rows, _render_findings)


def _filter(
    rule: tuple[str, ...],
    party: str | None,
    product: str | None,
    batch: str | None,
    region: str | None,
    since: str | None,
    until: str | None,
) -> FindingFilter:
    try:
        rules = {RuleId(r) for r in rule} or None
    except ValueError:
        raise click.BadParameter(
            f"one of {', '.join(r.value for r in RuleId)}", param_hint="--rule"
        ) from None
    try:
        return FindingFilter(
            rules=rules,
            party=party,
            product_id=product,
            batch_number=batch,
            region=region,
            since=_time(since, "--since"),
            until=_time(until, "--until"),
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


_FILTER_OPTIONS = [
    click.option("--rule", multiple=True, help="Only this rule (repeatable)."),
    click.option("--party", help="Findings about this party, on either side."),
    click.option("--product", help="Only this product."),
    click.option("--batch", help="Only this batch (with --product)."),
    click.option("--region", help="Administrative division prefix: 35 province, 3501 city, 350102 county."),
    click.option("--since", help="Business time from (ISO 8601 with offset)."),
    click.option("--until", help="Business time before (ISO 8601 with offset)."),
]


def _filter_options(function: Any) -> Any:
    for option in reversed(_FILTER_OPTIONS):
        function = option(function)
    return function


@supervision.command()
@_filter_options
@click.pass_context
def findings(
    ctx: click.Context,
    rule: tuple[str, ...],
    party: str | None,
    product: str | None,
    batch: str | None,
    region: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """Findings by rule, party, product, region and period, with what they are indexed by."""
    obj, url = _context(ctx)
    where = _filter(rule, party, product, batch, region, since, until)
    with _open(url) as store:
        rows = [_finding_data(item) for item in store.findings(where)]
    obj.output.result(rows, _render_findings)


@supervision.command()
@click.argument("what", type=click.Choice(["findings", "stock", "purchases", "sales"]))
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="CSV file to write."
)
@_filter_options
@click.pass_context
def export(
    ctx: click.Context,
    what: str,
    out: Path,
    rule: tuple[str, ...],
    party: str | None,
    product: str | None,
    batch: str | None,
    region: str | None,
    since: str | None,
    until: str | None,
) -> None:
    """Write findings, stock, or a party's purchases or sales as CSV."""
    obj, url = _context(ctx)
    with _open(url) as store, out.open("w", encoding="utf-8", newline="") as stream:
        if what == "findings":
            count = store.export_findings(stream, _filter(rule, party, product, batch, region, since, until))
        elif what == "stock":
            count = store.export_stock(stream, holder=party, product_id=product)
        else:
            if party is None:
                raise click.UsageError(f"export {what} needs --party")
            count = store.export_trade(stream, party, side=what)
    obj.output.result({"rows": count, "file": str(out)}, lambda d: f"wrote {d['rows']} rows to {d['file']}")


@supervision.command()
@click.argument("trace_code")
@click.pass_context
def code(ctx: click.Context, trace_code: str) -> None:
    """The full chain of one traceability code: batch, raw materials, shipments, invoices, dispensings."""
    obj, url = _context(ctx)
    with _open(url) as store:
        try:
            chain = store.code_chain(trace_code)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
    data = {
        "trace_code": chain.trace_code,
        "product_id": chain.product_id,
        "batch_number": chain.batch_number,
        "manufacturer": chain.manufacturer.party_id if chain.manufacturer else None,
        "raw_material_lots": [lot.to_dict() for lot in chain.batch.raw_material_lots] if chain.batch else [],
        "chains": [[f"{h.kind.value} {h.number} {h.seller}->{h.buyer}" for h in c] for c in chain.chains],
        "shipments": [
            {"invoice": s.hop.number, "to": s.hop.buyer, "receipt_listed": s.received_listed}
            for s in chain.shipments
        ],
        "dispensings": [
            {"prescription_id": d.prescription_id, "hospital": d.hospital} for d in chain.dispensings
        ],
        "recalled": chain.recall is not None,
    }

    def render(d: dict[str, Any]) -> str:
        lines = [f"{d['trace_code']}: {d['product_id']}/{d['batch_number']} by {d['manufacturer']}"]
        lines += [
            f"  lot {lot['material']} {lot['lot']} from {lot['supplier']}" for lot in d["raw_material_lots"]
        ]
        lines += ["  " + " | ".join(c) for c in d["chains"]]
        lines += [f"  dispensed in {x['prescription_id']} at {x['hospital']}" for x in d["dispensings"]]
        lines += ["  RECALLED"] if d["recalled"] else []
        return "\n".join(lines)

    obj.output.result(data, render)


@supervision.command()
@click.option("--lines", type=int, default=100_000, show_default=True, help="Invoice lines to generate.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--products", type=int, default=20_000, show_default=True)
@click.option("--distributors", type=int, default=500, show_default=True)
@click.option("--hospitals", type=int, default=3_000, show_default=True)
@click.option(
    "--checked",
    is_flag=True,
    help="Apply every write through the feed's checked ingest (slow) instead of the bulk writer "
    "(which needs an empty store).",
)
@click.pass_context
def generate(
    ctx: click.Context,
    lines: int,
    seed: int,
    products: int,
    distributors: int,
    hospitals: int,
    checked: bool,
) -> None:
    """Write a synthetic province (known violations) straight into the store, then re-evaluate it."""
    obj, url = _context(ctx)
    try:
        spec = ProvinceSpec(
            invoice_lines=lines,
            seed=seed,
            products=products,
            distributors=distributors,
            hospitals=hospitals,
            manufacturers=min(200, products),
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    province = Province(spec)
    with _open(url, migrate=True) as store:
        started = time.monotonic()
        try:
            result = load_province(store, province) if checked else write_province(store, province)
        except ValueError as exc:
            raise click.UsageError(f"{exc} (--checked adds to a store that has writes)") from None
        loaded = time.monotonic() - started
        started = time.monotonic()
        findings_count = store.reevaluate()
        reevaluated = time.monotonic() - started
    data = {
        "writes": result.writes,
        "invoice_lines": result.invoice_lines,
        "blocks": result.blocks,
        "load_s": round(loaded, 2),
        "reevaluate_s": round(reevaluated, 2),
        "ledger_findings": findings_count,
        "expected_findings": {rule.value: n for rule, n in sorted(province.expected_findings.items())},
    }
    obj.output.result(
        data,
        lambda d: (
            f"{d['invoice_lines']} invoice lines ({d['writes']} writes) loaded in {d['load_s']} s; "
            f"whole-ledger findings re-evaluated in {d['reevaluate_s']} s"
        ),
    )
