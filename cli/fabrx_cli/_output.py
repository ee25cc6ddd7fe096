"""The one place where commands write to the terminal.

Commands build plain data and hand it here; ``--json`` switches every command to machine output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click


@dataclass
class Output:
    json_mode: bool = False
    verbose: int = 0

    def result(self, data: Any, render: Callable[[Any], str] | None = None) -> None:
        """Print a command's result: JSON in ``--json`` mode, else ``render(data)`` (or ``str``)."""
        if self.json_mode:
            click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        else:
            click.echo(render(data) if render else str(data))

    def progress(self, line: str) -> None:
        """A progress line for a person; goes to stderr so ``--json`` output stays parseable."""
        click.echo(line, err=True)

    def error(self, message: str) -> None:
        if self.json_mode:
            click.echo(json.dumps({"error": message}), err=True)
        else:
            click.secho(f"error: {message}", fg="red", err=True)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
