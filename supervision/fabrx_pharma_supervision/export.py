"""CSV exports of query results, for analysts' spreadsheets and other tools.

UTF-8 with a header row, one row per result, ``\\r\\n`` line ends (RFC 4180). A text cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` so a spreadsheet shows
it instead of evaluating it (reasons quote record values). Parquet is not offered: the well-kept writer
(pyarrow) is a large binary dependency for what the CSV already carries.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import TextIO

__all__ = ["write_csv"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def write_csv(rows: Iterable[Mapping[str, object]], columns: Sequence[str], out: TextIO) -> int:
    """Write ``rows`` (each with every column) to ``out`` as CSV under a header; return the row count.

    Raises ``KeyError`` naming a column a row lacks.
    """
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_cell(row[column]) for column in columns])
        count += 1
    return count
