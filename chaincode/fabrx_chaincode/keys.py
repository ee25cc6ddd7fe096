"""Ledger key rules and composite keys, as Fabric's shim defines them.

A composite key is ``U+0000 objectType U+0000 attr1 U+0000 attr2 U+0000 ...``: the leading U+0000
puts every composite key in a namespace of its own, so simple keys (which may not start with U+0000)
never collide with them and a plain range query never returns them. Neither the object type nor an
attribute may contain U+0000 (the separator) or U+10FFFF (the upper bound of a partial-key range).
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import InvalidKeyError

__all__ = [
    "COMPOSITE_KEY_NAMESPACE",
    "EMPTY_KEY_SUBSTITUTE",
    "MAX_UNICODE_RUNE",
    "create_composite_key",
    "partial_composite_key_range",
    "split_composite_key",
    "validate_simple_key",
]

COMPOSITE_KEY_NAMESPACE = "\x00"
"""First character of every composite key, and the separator between its parts."""
MAX_UNICODE_RUNE = "\U0010ffff"
"""Highest code point: the exclusive end of a partial composite key range."""
EMPTY_KEY_SUBSTITUTE = "\x01"
"""Start key sent for an open range start: the first key after the composite-key namespace."""


def _check_utf8(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidKeyError(f"{what} is not valid UTF-8 (it contains a lone surrogate): {exc}") from exc


def _validate_attribute(text: str, what: str) -> None:
    _check_utf8(text, what)
    for index, char in enumerate(text):
        if char in (COMPOSITE_KEY_NAMESPACE, MAX_UNICODE_RUNE):
            raise InvalidKeyError(
                f"{what} {text!r} contains U+{ord(char):04X} at position {index}; "
                "U+0000 and U+10FFFF are not allowed in a composite key"
            )


def create_composite_key(object_type: str, attributes: Sequence[str] = ()) -> str:
    """The composite key of ``object_type`` and ``attributes`` (see the module docstring).

    Raises:
        InvalidKeyError: a part contains U+0000 or U+10FFFF, or is not valid UTF-8.
    """
    _validate_attribute(object_type, "composite key object type")
    for attribute in attributes:
        _validate_attribute(attribute, "composite key attribute")
    parts = [COMPOSITE_KEY_NAMESPACE, object_type, COMPOSITE_KEY_NAMESPACE]
    for attribute in attributes:
        parts.append(attribute)
        parts.append(COMPOSITE_KEY_NAMESPACE)
    return "".join(parts)


def split_composite_key(key: str) -> tuple[str, list[str]]:
    """The object type and attributes of a composite key made by :func:`create_composite_key`.

    Raises:
        InvalidKeyError: ``key`` is not a composite key.
    """
    if len(key) < 2 or key[0] != COMPOSITE_KEY_NAMESPACE or key[-1] != COMPOSITE_KEY_NAMESPACE:
        raise InvalidKeyError(f"{key!r} is not a composite key (it must start and end with U+0000)")
    object_type, *attributes = key[1:-1].split(COMPOSITE_KEY_NAMESPACE)
    return object_type, attributes


def partial_composite_key_range(object_type: str, attributes: Sequence[str] = ()) -> tuple[str, str]:
    """Start (inclusive) and end (exclusive) keys of every composite key beginning with these parts.

    Raises:
        InvalidKeyError: as :func:`create_composite_key`.
    """
    start = create_composite_key(object_type, attributes)
    return start, start + MAX_UNICODE_RUNE


def validate_simple_key(*keys: str) -> None:
    """Check that range-query bounds are simple keys: valid UTF-8 and not starting with U+0000.

    Raises:
        InvalidKeyError: a key starts with U+0000 (the composite-key namespace) or is not UTF-8.
    """
    for key in keys:
        _check_utf8(key, "key")
        if key.startswith(COMPOSITE_KEY_NAMESPACE):
            raise InvalidKeyError(
                f"key {key!r} starts with U+0000, which is reserved for composite keys; "
                "use the partial composite key queries for those"
            )
