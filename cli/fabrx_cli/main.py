"""Root ``fabrx`` group: global options, the typed CLI context, and the single error boundary.

Exit codes, the same for every command (docs/network.md, "Scripting the CLI"):

- 0: done, and the answer is positive;
- 1 (:data:`EXIT_FAILURE`): the command could not do its job (bad input, an unreachable node, a refusal);
- 2 (:data:`EXIT_USAGE`): the command line itself is wrong;
- 3 (:data:`EXIT_NEGATIVE`): done, and the answer is negative (an unhealthy network, a failed check).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click

from fabrx.errors import FabrxError
from fabrx_network.config import ConfigError
from fabrx_network.errors import NetworkError

from . import __version__
from ._output import EXIT_NEGATIVE, Output, Problem

__all__ = [
    "COMMAND_ENTRY_POINTS",
    "EXIT_FAILURE",
    "EXIT_NEGATIVE",
    "EXIT_USAGE",
    "CliContext",
    "FabrxCommand",
    "FabrxGroup",
    "cli",
]

EXIT_FAILURE = 1
EXIT_USAGE = 2

_JSON_META = "fabrx.json"


@dataclass
class CliContext:
    """Global options resolved once; every command receives this object."""

    config_path: Path | None
    run_dir: Path | None
    output: Output = field(default_factory=Output)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_JSON_META] = True
        obj = ctx.find_object(CliContext)
        if obj is not None:
            obj.output.json_mode = True


def _json_option() -> click.Option:
    return click.Option(
        ["--json"],
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Machine-readable JSON output (accepted at any level: `fabrx --json network status` too).",
    )


class FabrxCommand(click.Command):
    """A command that accepts ``--json`` after its own name as well as at the root."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_json_option())


class FabrxGroup(click.Group):
    """A command group whose commands and subgroups all accept ``--json``."""

    command_class = FabrxCommand
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_json_option())


def _json_requested(args: Sequence[str]) -> bool:
    """``--json`` anywhere on the command line before ``--``: known before any parsing can fail."""
    options = args[: list(args).index("--")] if "--" in args else args
    return "--json" in options


def problems_of(exc: Exception) -> tuple[str, list[Problem]]:
    """The summary line and the ``{path, message}`` problems of an error the CLI reports."""
    if isinstance(exc, ConfigError):
        return str(exc).splitlines()[0], [
            Problem(path=p.path or exc.source, message=p.message, severity=p.severity) for p in exc.problems
        ]
    if isinstance(exc, click.BadParameter):
        hint = exc.param_hint if isinstance(exc.param_hint, str) else None
        if hint is None and exc.param is not None:
            hint = exc.param.opts[0] if exc.param.opts else exc.param.name
        message = exc.format_message()
        return message, [Problem(path=hint, message=exc.message)]
    if isinstance(exc, click.NoSuchOption):
        return exc.format_message(), [Problem(path=exc.option_name, message=exc.format_message())]
    message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
    summary = message.splitlines()[0] if message else type(exc).__name__
    return summary, _carried_problems(exc) or [Problem(path=None, message=message)]


def _carried_problems(exc: Exception) -> list[Problem]:
    """Problems an application error carries by convention, without the CLI knowing its type.

    ``problems``: ``(path, message)`` pairs or objects with ``field``/``path`` and ``message``; else
    ``field`` and ``message``. A string ``rule`` becomes each problem's ``code`` (e.g. a pharma refusal's
    ``INVOICE_REUSED``).
    """
    rule = getattr(exc, "rule", None)
    code = rule if isinstance(rule, str) and rule else None
    problems = []
    for item in getattr(exc, "problems", None) or ():
        if isinstance(item, tuple) and len(item) == 2:
            path, text = item
        else:
            path = getattr(item, "field", None) or getattr(item, "path", None)
            text = getattr(item, "message", item)
        problems.append(Problem(path=str(path) if path else None, message=str(text), code=code))
    field, text = getattr(exc, "field", None), getattr(exc, "message", None)
    if not problems and isinstance(field, str) and field and isinstance(text, str):
        problems.append(Problem(path=field, message=text, code=code))
    return problems


class FabrxCli(FabrxGroup):
    """The root group: the one place where errors become a message and an exit code."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        json_mode = _json_requested(args)
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            if not json_mode:
                raise
            _report(Output(json_mode=True), exc)
            raise click.exceptions.Exit(exc.exit_code) from None
        ctx.meta[_JSON_META] = json_mode
        return ctx

    # Subgroups take this class too (``group_class = type``); only the root has entry-point commands.

    def list_commands(self, ctx: click.Context) -> list[str]:
        if ctx.parent is not None:
            return super().list_commands(ctx)
        plugged = {entry_point.name for entry_point in entry_points(group=COMMAND_ENTRY_POINTS)}
        return sorted({*self.commands, *plugged})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if ctx.parent is None and cmd_name not in self.commands:
            _load_entry_point(cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (FabrxError, NetworkError, OSError) as exc:
            _report(_output(ctx), exc)
            ctx.exit(EXIT_FAILURE)
        except click.ClickException as exc:
            output = _output(ctx)
            if not output.json_mode:
                raise
            _report(output, exc)
            ctx.exit(exc.exit_code)


def _output(ctx: click.Context) -> Output:
    obj = ctx.find_object(CliContext)
    return obj.output if obj else Output(json_mode=bool(ctx.meta.get(_JSON_META)))


def _report(output: Output, exc: Exception) -> None:
    if output.json_mode:
        summary, problems = problems_of(exc)
        output.error(summary, problems)
    else:
        output.error(exc.format_message() if isinstance(exc, click.ClickException) else str(exc))


@click.group(cls=FabrxCli)
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
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(__version__, prog_name="fabrx")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, run_dir: Path | None, verbose: int) -> None:
    """fabrx: run a Hyperledger Fabric consortium from one file and call its chaincodes."""
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO, format="%(name)s: %(message)s"
        )
    output = Output(json_mode=bool(ctx.meta.get(_JSON_META)), verbose=verbose)
    ctx.obj = CliContext(config_path=config_path, run_dir=run_dir, output=output)


#: Entry-point group of command modules that attach themselves to ``cli`` when loaded (the pharma
#: application's ``pharma`` and ``demo`` commands come this way, from its own distribution).
COMMAND_ENTRY_POINTS = "fabrx.cli"


def _register_commands() -> None:
    # Command modules attach themselves to ``cli`` on import; importing here keeps ``fabrx_cli.main:cli``
    # the single entry point. The entry points' modules are loaded by ``FabrxCli.get_command`` only
    # when their command is called (or listed): `fabrx channel ...` then starts without importing the
    # service's web framework or the supervision store's database layers, a second of CPU per command.
    from . import chaincode, channel, fabric, member, network  # noqa: F401


def _load_entry_point(name: str) -> None:
    """Import the command module registered under ``name``; stand in for it when it cannot load."""
    for entry_point in entry_points(group=COMMAND_ENTRY_POINTS, name=name):
        try:
            entry_point.load()
        except ImportError as exc:
            # An optional dependency left out (fabrx-pharma without its `service` extra) must not take the
            # other commands down: the command stays listed and says what it lacks when called.
            if entry_point.name not in cli.commands:
                cli.add_command(_unavailable(entry_point.name, exc))


def _unavailable(name: str, exc: ImportError) -> click.Command:
    reason = f"the {name!r} command cannot load here: {exc} (install its distribution's extra)"

    def fail() -> None:
        raise click.ClickException(reason)

    return FabrxCommand(
        name,
        callback=fail,
        help=f"Not available: {exc}.",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


_register_commands()
