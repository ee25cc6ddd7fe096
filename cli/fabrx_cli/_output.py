"""The one place where commands write to the terminal.

Commands build plain data and hand it here; ``--json`` switches every command to machine output: the
result as JSON on stdout, errors as JSON on stderr (``{"error": summary, "problems": [{"path",
"message", "severity", "code"}, ...]}``), progress lines on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import click

#: Exit code of a command that did its job and whose answer is negative (unhealthy, not verified, ...).
EXIT_NEGATIVE = 3


@dataclass(frozen=True)
class Problem:
    """One thing wrong, where: a consortium file path (``orgs[1].peers[0].port``), an option
    (``--org``), a file, a record field; ``None`` when the error has no single place. ``code`` is a
    machine-readable reason when the error has one (a pharma refusal's rule, ``INVOICE_REUSED``)."""

    path: str | None
    message: str
    severity: str = "error"
    code: str | None = None


@dataclass
class Output:
    json_mode: bool = False
    verbose: int = 0

    def result(self, data: Any, render: Callable[[Any], str] | None = None, *, ok: bool = True) -> None:
        """Print a command's result: JSON in ``--json`` mode, else ``render(data)`` (or ``str``).

        ``ok=False`` marks a negative answer: after printing, the command exits with
        :data:`EXIT_NEGATIVE`, so a script sees it without parsing the output.

        Raises:
            click.exceptions.Exit: when ``ok`` is false.
        """
        if self.json_mode:
            click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        else:
            click.echo(render(data) if render else str(data))
        if not ok:
            raise click.exceptions.Exit(EXIT_NEGATIVE)

    def line(self, text: str) -> None:
        """One line of a stream (``logs --follow``), flushed at once so a pipe sees it."""
        click.echo(text)
        sys.stdout.flush()

    def progress(self, line: str) -> None:
        """A progress line for a person; goes to stderr so ``--json`` output stays parseable."""
        click.echo(line, err=True)

    def error(self, message: str, problems: Sequence[Problem] = ()) -> None:
        """Report an error on stderr: ``message`` for a person, or ``{"error", "problems"}`` as JSON."""
        if self.json_mode:
            listed = [asdict(p) for p in problems] or [asdict(Problem(path=None, message=message))]
            click.echo(json.dumps({"error": message, "problems": listed}, ensure_ascii=False), err=True)
        else:
            click.secho(f"error: {message}", fg="red", err=True)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
