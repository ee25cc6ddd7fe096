"""``fabrx fabric install`` and ``fabrx doctor``: the Fabric binaries fabrx runs."""

from __future__ import annotations

import dataclasses
from typing import Any

import click
from tabulate import tabulate

from fabrx_network.install import DoctorReport, doctor, ensure_fabric

from .main import CliContext, cli


@cli.group()
def fabric() -> None:
    """Install and inspect the Fabric and Fabric CA binaries."""


@fabric.command("install")
@click.option("--verbose-build", is_flag=True, help="Show the Go build's own output.")
@click.pass_obj
def install(obj: CliContext, verbose_build: bool) -> None:
    """Install Fabric 3.1.5 and Fabric CA 1.5.21 into the per-user cache (skipped when present).

    Sources, in order: FABRIC_BIN (a folder of release binaries), FABRIC_SRC (an upstream source archive
    or tree), then the verified bundle in ../shared/fabric. Fabric CA is built from the Go module proxy.
    """
    result = ensure_fabric(progress=obj.output.progress, verbose=verbose_build)
    obj.output.result(
        {
            "fabric_version": result.version,
            "bin_dir": str(result.bin_dir),
            "config_dir": str(result.config_dir),
            "ca_version": result.ca_version,
            "ca_bin_dir": str(result.ca_bin_dir),
        },
        lambda d: (
            f"Fabric {d['fabric_version']} in {d['bin_dir']}\n"
            f"Fabric CA {d['ca_version']} in {d['ca_bin_dir']}"
        ),
    )


@cli.command("doctor")
@click.pass_obj
def doctor_command(obj: CliContext) -> None:
    """Show the installed Fabric binaries with their versions, the tools fabrx needs, and problems.

    Exits 3 when it finds a problem.
    """
    report = doctor()
    obj.output.result(_as_dict(report), lambda _: _render(report), ok=report.ok)


def _as_dict(report: DoctorReport) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    data["ok"] = report.ok
    return data


def _render(report: DoctorReport) -> str:
    lines = [f"fabrx cache: {report.cache_dir}", f"python: {report.python}", ""]
    binaries = [(b.name, b.version or "-", str(b.path or "missing")) for b in report.binaries]
    lines += _table(binaries, ("BINARY", "VERSION", "PATH"))
    lines.append("")
    tools = [(t.name, t.version or "-", t.purpose) for t in report.tools]
    lines += _table(tools, ("TOOL", "VERSION", "NEEDED FOR"))
    lines.append("")
    lines += [f"problem: {p}" for p in report.problems] or ["no problems found"]
    return "\n".join(lines)


def _table(rows: list[tuple[str, str, str]], headers: tuple[str, str, str]) -> list[str]:
    text = tabulate(rows, headers, tablefmt="simple", disable_numparse=True)
    return [f"  {line}".rstrip() for line in text.splitlines()]
