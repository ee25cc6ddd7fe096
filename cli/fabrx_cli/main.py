"""Root ``fabrx`` group: global options, the typed CLI context, and the single error boundary."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from fabrx.errors import FabrxError
from fabrx_network.errors import NetworkError

from ._output import Output

EXIT_FAILURE = 1
EXIT_USAGE = 2


@dataclass
class CliContext:
    """Global options resolved once; every command receives this object."""

    config_path: Path | None
    run_dir: Path | None
    output: Output = field(default_factory=Output)


class FabrxGroup(click.Group):
    """Translates library errors into a message and an exit code, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (FabrxError, NetworkError) as exc:
            obj = ctx.find_object(CliContext)
            (obj.output if obj else Output()).error(str(exc))
            ctx.exit(EXIT_FAILURE)


@click.group(cls=FabrxGroup)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="FABRX_CONFIG",
    help="Consortium file (env FABRX_CONFIG; default: network/consortium.yaml, else the packaged default).",
)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="FABRX_RUN_DIR",
    help="Run directory for generated files, ledgers and logs (env FABRX_RUN_DIR; default .fabrx/<name>).",
)
@click.option("--json", "json_mode", is_flag=True, help="Machine-readable JSON output.")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(package_name="fabrx")
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path | None, run_dir: Path | None, json_mode: bool, verbose: int
) -> None:
    """fabrx: the pharmaceutical supervision consortium on Hyperledger Fabric."""
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO, format="%(name)s: %(message)s"
        )
    ctx.obj = CliContext(
        config_path=config_path, run_dir=run_dir, output=Output(json_mode=json_mode, verbose=verbose)
    )


def _register_commands() -> None:
    # Command modules attach themselves to ``cli`` on import; importing here keeps ``fabrx_cli.main:cli``
    # the single entry point.
    from . import chaincode, channel, demo, fabric, network, pharma, serve  # noqa: F401


_register_commands()
