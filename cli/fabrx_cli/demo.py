"""``fabrx demo``: bring the default consortium up and run the end-to-end supervision scenario."""

from __future__ import annotations

import click

from fabrx.pharma.scenario import run_scenario
from fabrx_network.operations import open_network

from .main import CliContext, cli

_LEFT_RUNNING = (
    "The network is left running (run directory {run_dir}). Try `fabrx pharma --org Regulator report`; "
    "stop it with `make network-down` (or `fabrx network down`; add --purge to delete the ledgers)."
)


@cli.command()
@click.pass_obj
def demo(obj: CliContext) -> None:
    """Bring the consortium up (only what is missing), then run the two-invoice scenario on it.

    Writes a fresh run of the sample story (batches, first and second invoices, receipts,
    prescriptions, one adverse reaction), shows five injected violations refused with their rule and
    field, the hospital's invoice verification, the regulator's findings, the trace of the adverse
    reaction and the batch's recall scope. Safe to run again on the same ledger.
    """
    net = open_network(obj.config_path, obj.run_dir)
    net.up(progress=obj.output.progress)
    report = run_scenario(net, progress=obj.output.progress)
    note = _LEFT_RUNNING.format(run_dir=net.run_dir)
    obj.output.result(
        {**report.as_dict(), "network": {"run_dir": str(net.run_dir), "left_running": True}},
        lambda _: report.render() + "\n" + note,
    )
    if not report.ok:
        raise click.ClickException("an injected violation was not refused with the expected rule (see above)")
