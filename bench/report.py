"""Recording results: ``bench/results.json`` merged section by section, and ``docs/benchmarks.md``.

Each suite writes only its own keys, so running one benchmark never erases another's figures. The
document holds one section per suite between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``
markers; a run replaces its own section and leaves the rest of the document as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

__all__ = ["DOCUMENT_TITLE", "merge_results", "replace_section", "update_docs", "update_results"]

DOCUMENT_TITLE = (
    "# Benchmarks\n\n"
    "Written by `make bench` (`python -m bench`: the network, client, chaincode and pharma suites, under "
    "10 minutes on a 2-core machine) and `python -m bench --suite blockcutting` (one network per batch "
    "timeout, about 2 minutes, so not part of `make bench`); each section by the run it names.\n"
)


def merge_results(existing: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` into a copy of ``existing``.

    Mappings merge key by key, at every depth; any other value in ``update`` (numbers, lists, ``None``)
    replaces the existing one. So a run of only fabrx's client updates ``submit.fabrx`` and keeps
    ``submit.node``.
    """
    merged: dict[str, Any] = dict(existing)
    for key, value in update.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = merge_results(current, value)
        elif isinstance(value, Mapping):
            merged[key] = merge_results({}, value)
        else:
            merged[key] = value
    return merged


def _write_atomically(path: Path, text: str) -> None:
    # A crash mid-write must not leave a truncated file behind: write beside it, then rename.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def update_results(
    path: str | Path, update: Mapping[str, Any], *, replace: Collection[str] = ()
) -> dict[str, Any]:
    """Merge ``update`` into the JSON file at ``path`` (created if missing); return the merged whole.

    The top-level sections named in ``replace`` are written whole instead of merged, for a suite whose
    one run measures every figure of its section (no figure of an earlier run survives beside them).

    Raises:
        ValueError: the existing file is not a JSON object (it is left untouched).
    """
    target = Path(path)
    existing: Any = {}
    if target.exists():
        try:
            existing = json.loads(target.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{target} is not valid JSON ({exc}); fix or delete it") from exc
        if not isinstance(existing, dict):
            raise ValueError(f"{target} holds a JSON {type(existing).__name__}, expected an object")
    kept = {key: value for key, value in existing.items() if key not in replace}
    merged = merge_results(kept, update)
    _write_atomically(target, json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return merged


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def replace_section(document: str, name: str, body: str) -> str:
    """Return ``document`` with section ``name`` replaced by ``body`` (appended when absent).

    Raises:
        ValueError: the document has the section's start marker without its end marker, or the
            markers more than once.
    """
    start, end = _markers(name)
    block = f"{start}\n{body.strip()}\n{end}\n"
    starts, ends = document.count(start), document.count(end)
    if starts == 0 and ends == 0:
        separator = (
            "" if not document or document.endswith("\n\n") else ("\n" if document.endswith("\n") else "\n\n")
        )
        return f"{document}{separator}{block}"
    if starts != 1 or ends != 1 or document.index(start) > document.index(end):
        raise ValueError(
            f"section markers of {name!r} are broken: expected one {start} followed by one {end}"
        )
    head = document[: document.index(start)]
    tail = document[document.index(end) + len(end) :].removeprefix("\n")
    return f"{head}{block}{tail}"


def update_docs(path: str | Path, name: str, body: str) -> None:
    """Replace section ``name`` of the Markdown file at ``path`` (created with a title if missing)."""
    target = Path(path)
    document = target.read_text() if target.exists() else DOCUMENT_TITLE
    _write_atomically(target, replace_section(document, name, body))
