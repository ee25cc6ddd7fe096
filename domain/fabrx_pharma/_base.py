"""What every record shares: reading from dicts and JSON, canonical JSON, and the record hash."""

from __future__ import annotations

import hashlib
import json
from typing import ClassVar, Self

from ._fields import Problems, finish
from .errors import RecordError, ValidationError

MAX_RECORD_BYTES = 1 << 20
"""Largest JSON record accepted (1 MiB): a line of 10,000 traceability codes is about 250 KiB."""


class Part:
    """A value read from JSON-shaped data: a record or a piece of one (a line, a shipment, a lot)."""

    @classmethod
    def read(cls, data: object, path: str, problems: Problems) -> Self:
        """Read the value, appending every problem to ``problems`` (placeholders fill bad fields)."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: object, path: str = "") -> Self:
        """Read the value from a dict as produced by ``json.loads``.

        Raises :class:`~fabrx_pharma.errors.RecordError` listing every malformed field with its path
        (prefixed by ``path``).
        """
        problems: Problems = []
        return finish(cls.__name__, cls.read(data, path, problems), problems)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON-shaped form: dates as ISO text, decimals as strings, lists for tuples."""
        raise NotImplementedError


class Record(Part):
    """A record written to the ledger."""

    RECORD_TYPE: ClassVar[str]
    """The record's type name on the ledger and in the SDK, e.g. ``invoice``."""

    @property
    def key(self) -> str:
        """The text that identifies this record among the records of its type."""
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        """Read the record from JSON text.

        Raises :class:`~fabrx_pharma.errors.RecordError` if the input is larger than
        :data:`MAX_RECORD_BYTES`, not UTF-8, not JSON (duplicate keys and NaN/Infinity included) or not a
        well-formed record.
        """
        return cls.from_dict(decode_json(data, cls.__name__))

    def to_json(self) -> bytes:
        """Return the canonical JSON of this record (see :func:`canonical_json`)."""
        return canonical_json(self)


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            # Two readers could pick different values for a duplicated key; refuse instead.
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def decode_json(data: bytes | str, record_type: str) -> object:
    """Decode JSON input at the boundary, enforcing the size limit, UTF-8 and strict JSON."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if not isinstance(raw, bytes | bytearray):
        raise RecordError(
            record_type, [ValidationError("TYPE", "<record>", "JSON input must be bytes or str")]
        )
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(
            record_type,
            [
                ValidationError(
                    "SIZE", "<record>", f"is {len(raw)} bytes; at most {MAX_RECORD_BYTES} are accepted"
                )
            ],
        )
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(
            record_type, [ValidationError("ENCODING", "<record>", f"is not valid UTF-8 (byte {exc.start})")]
        ) from exc
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise RecordError(record_type, [ValidationError("JSON", "<record>", "is nested too deeply")]) from exc
    except ValueError as exc:
        raise RecordError(
            record_type, [ValidationError("JSON", "<record>", f"is not valid JSON: {exc}")]
        ) from exc


def canonical_json(record: Part) -> bytes:
    """Return the canonical JSON of a record: sorted keys, no spaces, UTF-8 (not ASCII-escaped).

    Two parties that hold the same record produce the same bytes, so they can compare hashes.
    """
    return json.dumps(record.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def record_hash(record: Part) -> str:
    """Return the SHA-256 of :func:`canonical_json` as 64 lower-case hex digits.

    A hospital checks the copy of a first invoice a distributor hands over against the hash the ledger
    holds for it, without being allowed to read the manufacturer-distributor trade itself.
    """
    return hashlib.sha256(canonical_json(record)).hexdigest()
