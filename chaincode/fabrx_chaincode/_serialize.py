"""Transaction arguments from bytes and results to bytes, driven by type annotations.

Arguments arrive as bytes. By annotation:

- ``str`` (or no annotation): UTF-8 text; ``bytes``: the raw argument.
- ``int``: base-10 digits with an optional minus sign; ``float``: a finite decimal number;
  ``bool``: ``true`` or ``false`` (any case).
- an ``Enum``: the text of one member's value.
- ``dict``, ``list``, ``tuple``, their parameterized forms and dataclasses: JSON, checked
  recursively (dataclass fields by their own annotations; unknown fields are rejected).
- ``T | None``: an empty argument is None, anything else is read as ``T``.

Results go back as: None -> empty; ``bytes`` unchanged; ``str`` UTF-8; ``bool`` ``true``/``false``;
numbers in decimal; enums as their value; anything else (dicts, lists, dataclasses) as compact JSON.
A declared return annotation is checked before the result is sent.

Schemas for ``GetMetadata`` follow the contract metadata schema of the Go and Node contract APIs
(JSON Schema, dataclasses under ``components.schemas``).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .errors import ContractDefinitionError

__all__ = ["ArgumentParser", "argument_parser", "check_result", "schema_for", "serialize_result"]

ArgumentParser = Callable[[bytes], Any]
"""Turns one raw argument into a value; raises ValueError with a message naming what is wrong."""

_INT = re.compile(r"-?[0-9]+")
_NONE = type(None)


def _describe(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _origin(annotation: Any) -> Any:
    return typing.get_origin(annotation)


def _optional_inner(annotation: Any) -> Any | None:
    """``T`` for ``T | None`` (or ``Optional[T]``); None for anything else."""
    if _origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not _NONE]
        if len(members) == 1 and len(typing.get_args(annotation)) == 2:
            return members[0]
    return None


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception as exc:
        raise ContractDefinitionError(f"cannot resolve the annotations of {cls.__qualname__}: {exc}") from exc


# ---- JSON values to Python values ---------------------------------------------------------------


def _from_json(annotation: Any, value: Any, path: str) -> Any:
    """Check a decoded JSON value against ``annotation`` and build the Python value."""
    if annotation is Any or annotation is object:
        return value
    inner = _optional_inner(annotation)
    if inner is not None:
        return None if value is None else _from_json(inner, value, path)
    origin = _origin(annotation)
    if annotation is str:
        if isinstance(value, str):
            return value
    elif annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        for member in annotation:
            if member.value == value:
                return member
        allowed = ", ".join(repr(member.value) for member in annotation)
        raise ValueError(f"{path}: {value!r} is not one of {allowed}")
    elif isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        if isinstance(value, dict):
            return _dataclass_from_json(annotation, value, path)
    elif annotation in (list, tuple) or origin in (list, tuple, Sequence):
        if isinstance(value, list):
            args = typing.get_args(annotation)
            if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
                if len(args) != len(value):
                    raise ValueError(f"{path}: expected {len(args)} items, got {len(value)}")
                return tuple(
                    _from_json(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
                )
            item = args[0] if args else Any
            items = [_from_json(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
            return tuple(items) if (annotation is tuple or origin is tuple) else items
    elif annotation is dict or origin in (dict, Mapping):
        if isinstance(value, dict):
            args = typing.get_args(annotation)
            if not args:
                return value
            return {k: _from_json(args[1], v, f"{path}.{k}") for k, v in value.items()}
    else:
        raise ContractDefinitionError(f"unsupported annotation {annotation!r}")
    expected = getattr(annotation, "__name__", str(annotation))
    raise ValueError(f"{path}: expected {expected}, got {_describe(value)}")


def _dataclass_from_json(cls: type, value: dict[str, Any], path: str) -> Any:
    hints = _hints(cls)
    fields = {field.name: field for field in dataclasses.fields(cls) if field.init}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)} for {cls.__name__}")
    kwargs = {}
    for name, field in fields.items():
        if name in value:
            kwargs[name] = _from_json(hints.get(name, Any), value[name], f"{path}.{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ValueError(f"{path}: missing field {name!r} of {cls.__name__}")
    return cls(**kwargs)


# ---- arguments ------------------------------------------------------------------------------------


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def _parse_int(raw: bytes) -> int:
    text = _text(raw)
    if not _INT.fullmatch(text):
        raise ValueError(f"expected an integer, got {text[:40]!r}")
    return int(text)


def _parse_float(raw: bytes) -> float:
    text = _text(raw)
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text[:40]!r}") from None
    if not math.isfinite(number) or "_" in text:
        raise ValueError(f"expected a finite decimal number, got {text[:40]!r}")
    return number


def _parse_bool(raw: bytes) -> bool:
    text = _text(raw).lower()
    if text == "true":
        return True
    if text == "false":
        return False
    raise ValueError(f"expected true or false, got {text[:40]!r}")


def _validate_annotation(annotation: Any) -> None:
    """Raise ContractDefinitionError now, at registration, for an annotation no value could match."""
    if annotation in (str, bytes, int, float, bool, Any, object, list, dict, tuple):
        return
    inner = _optional_inner(annotation)
    if inner is not None:
        _validate_annotation(inner)
        return
    if isinstance(annotation, type) and (
        issubclass(annotation, enum.Enum) or dataclasses.is_dataclass(annotation)
    ):
        if dataclasses.is_dataclass(annotation):
            for hint in _hints(annotation).values():
                _validate_annotation(hint)
        return
    origin = _origin(annotation)
    if origin in (list, tuple, Sequence, dict, Mapping):
        for arg in typing.get_args(annotation):
            if arg is not Ellipsis:
                _validate_annotation(arg)
        return
    raise ContractDefinitionError(
        f"unsupported annotation {annotation!r}: use str, bytes, int, float, bool, an Enum, a dataclass, "
        "list/tuple/dict of those, or T | None"
    )


def argument_parser(annotation: Any) -> ArgumentParser:
    """The parser of one raw argument for ``annotation`` (see the module docstring).

    Raises:
        ContractDefinitionError: the annotation is not supported.
    """
    _validate_annotation(annotation)
    if annotation in (str, Any, object):
        return _text
    if annotation is bytes:
        return bytes
    if annotation is int:
        return _parse_int
    if annotation is float:
        return _parse_float
    if annotation is bool:
        return _parse_bool
    inner = _optional_inner(annotation)
    if inner is not None:
        parse_inner = argument_parser(inner)
        return lambda raw: None if not raw else parse_inner(raw)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        enum_type = annotation

        def parse_enum(raw: bytes) -> Any:
            text = _text(raw)
            for member in enum_type:
                if str(member.value) == text:
                    return member
            allowed = ", ".join(str(member.value) for member in enum_type)
            raise ValueError(f"{text[:40]!r} is not one of {allowed}")

        return parse_enum

    def parse_json(raw: bytes) -> Any:
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
        return _from_json(annotation, value, "$")

    return parse_json


# ---- results ------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def serialize_result(value: Any) -> bytes:
    """The response payload for a transaction's return value (see the module docstring).

    Raises:
        TypeError: the value cannot be serialized.
        ValueError: a float result is not finite.
    """
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a transaction cannot return the non-finite number {value}")
        return repr(value).encode()
    if isinstance(value, enum.Enum):
        return str(value.value).encode()
    return json.dumps(value, default=_jsonable, separators=(",", ":"), ensure_ascii=False).encode()


def check_result(annotation: Any, value: Any) -> str | None:
    """Why ``value`` does not match the return ``annotation``, or None when it does (checked shallowly
    for containers: the container type and each item's top-level type)."""
    if annotation in (Any, object) or annotation is typing.Any:
        return None
    if annotation is None or annotation is _NONE:
        return None if value is None else f"returned {_describe(value)}, declared None"
    inner = _optional_inner(annotation)
    if inner is not None:
        return None if value is None else check_result(inner, value)
    origin = _origin(annotation) or annotation
    if origin is Sequence:
        origin = list
    if origin is Mapping:
        origin = dict
    if not isinstance(origin, type):
        return None
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return None
    if origin is int and isinstance(value, bool):
        return f"returned bool, declared {annotation!r}"
    if not isinstance(value, origin):
        return f"returned {_describe(value)}, declared {getattr(annotation, '__name__', annotation)!s}"
    args = typing.get_args(annotation)
    container: Any = value
    if origin is list and args:
        for index, item in enumerate(container):
            problem = check_result(args[0], item)
            if problem:
                return f"item {index}: {problem}"
    if origin is dict and len(args) == 2:
        for key, item in container.items():
            problem = check_result(args[1], item)
            if problem:
                return f"value of {key!r}: {problem}"
    return None


# ---- schemas ------------------------------------------------------------------------------------


def schema_for(annotation: Any, components: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The JSON schema of ``annotation``; dataclasses are added to ``components`` and referenced."""
    if annotation in (str, Any, object):
        return {"type": "string"}
    if annotation is bytes:
        return {"type": "string", "format": "byte"}
    if annotation is bool:
        return {"type": "boolean"}
    if annotation is int:
        return {"type": "integer", "format": "int64"}
    if annotation is float:
        return {"type": "number", "format": "double"}
    inner = _optional_inner(annotation)
    if inner is not None:
        return schema_for(inner, components)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = [member.value for member in annotation]
        kind = "string" if all(isinstance(v, str) for v in values) else "integer"
        return {"type": kind, "enum": values}
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        name = annotation.__name__
        if name not in components:
            components[name] = {}  # placeholder first, so self-references terminate
            hints = _hints(annotation)
            fields = [field for field in dataclasses.fields(annotation) if field.init]
            components[name] = {
                "$id": name,
                "type": "object",
                "properties": {
                    field.name: schema_for(hints.get(field.name, Any), components) for field in fields
                },
                "required": [
                    field.name
                    for field in fields
                    if field.default is dataclasses.MISSING
                    and field.default_factory is dataclasses.MISSING
                    and _optional_inner(hints.get(field.name, Any)) is None
                ],
                "additionalProperties": False,
            }
        return {"$ref": f"#/components/schemas/{name}"}
    origin = _origin(annotation)
    args = typing.get_args(annotation)
    if annotation in (list, tuple) or origin in (list, tuple, Sequence):
        schema: dict[str, Any] = {"type": "array"}
        if args and args[0] is not Ellipsis:
            schema["items"] = schema_for(args[0], components)
        return schema
    if annotation is dict or origin in (dict, Mapping):
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = schema_for(args[1], components)
        return schema
    raise ContractDefinitionError(f"unsupported annotation {annotation!r}")
