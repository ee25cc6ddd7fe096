"""Text tables of the network tooling's reports, on tabulate: one shape for every status command."""

from __future__ import annotations

from collections.abc import Sequence

from tabulate import tabulate

__all__ = ["indented", "node_table"]


def indented(table: str) -> list[str]:
    """A table's lines, indented under the line that introduces them, without trailing blanks."""
    return [f"  {line}".rstrip() for line in table.splitlines()]


def node_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[Sequence[str]]
) -> list[str]:
    """A table of nodes: the header row and its rule, then each row followed by its notes (a node's
    problem, why it is down), which stay out of the columns so a long log line does not widen them.

    ``notes[i]`` are the lines under ``rows[i]``, written as they are. Cells must be one line each.
    """
    table = indented(tabulate(rows, headers, tablefmt="simple", disable_numparse=True))
    lines = table[:2]
    for row, under in zip(table[2:], notes, strict=True):
        lines += [row, *under]
    return lines
