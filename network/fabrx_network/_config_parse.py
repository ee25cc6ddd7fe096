"""Step 1 of loading a consortium: YAML text into the model, and pydantic's errors into fabrx's problems.

The models of :mod:`fabrx_network.config` check each field on its own. This module is the one boundary
where pydantic's :class:`~pydantic.ValidationError` is translated: each error becomes a :class:`Problem`
with the error's path in the file (``orgs[2].peers[0].port``) and fabrx's wording, which names what was
found and what is expected; unknown keys get a "did you mean". The field types word their own problems;
only pydantic's structural errors (missing, unknown, of the wrong type) are worded here.

A file with problems is validated a second time, leniently (:data:`~fabrx_network.config.LENIENT`), so
that the rules across fields run on what could be read and every problem is reported in one answer.
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from .config import LENIENT, Consortium, Problem, describe, not_a_string, suggest

__all__ = ["Problems", "parse_document"]


def parse_document(text: str, problems: Problems) -> Consortium | None:
    """The consortium as written (defaults not yet resolved), or ``None`` if the YAML is unusable.

    Records every problem of the fields on their own. When there are some, the consortium returned is
    the lenient reading, with placeholders for what was refused, for the rules across fields.
    """
    document = _load_yaml(text, problems)
    if document is None:
        return None
    try:
        return Consortium.model_validate(document)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            problems.error(_path(error["loc"]), _message(error))
    try:
        return Consortium.model_validate(document, context=LENIENT)
    except ValidationError:
        return None


class Problems:
    """Collects problems; parsing and checking go on after each one so all are reported together."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, path: str, message: str) -> None:
        self.items.append(Problem(path, message))

    def warning(self, path: str, message: str) -> None:
        self.items.append(Problem(path, message, "warning"))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.items)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that records duplicate mapping keys, which plain YAML loading silently drops."""

    duplicates: list[tuple[str, int]]


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, str | int):
            continue  # reported as an unknown key later
        if key in seen:
            loader.duplicates.append((str(key), key_node.start_mark.line + 1))
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


MAX_NESTING = 64
"""Deepest nesting of mappings and lists a consortium file may have. Read from the parser's events before
anything is built: deeper documents took seconds to compose and then exhausted Python's recursion."""


def _too_deep(text: str) -> bool:
    # Flow collections ([...], {...}) first, by characters: PyYAML's scanner slows down quadratically
    # with their depth, before the first event. Quoted text and comments do not count.
    depth, quote, comment = 0, "", False
    for char in text:
        if comment:
            comment = char != "\n"
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif char in "]}":
            depth = max(depth - 1, 0)
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return False


def _load_yaml(text: str, problems: Problems) -> dict[str, Any] | None:
    loader = _UniqueKeyLoader(text)
    loader.duplicates = []
    try:
        if _too_deep(text):
            problems.error(
                "", f"collections are nested more than {MAX_NESTING} deep; a consortium file needs few"
            )
            return None
        document = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problems.error(where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}")
        return None
    finally:
        loader.dispose()
    for key, line in loader.duplicates:
        problems.error(f"line {line}", f"key {key!r} appears twice in the same mapping; keep one")
    if not isinstance(document, dict):
        problems.error("", f"the consortium definition must be a YAML mapping, got {describe(document)}")
        return None
    return document


# --------------------------------------------------------------------------------------------------
# pydantic's errors, in fabrx's words

Loc = tuple[int | str, ...]


def _path(loc: Loc) -> str:
    """``('orgs', 2, 'peers', 0, 'port')`` as ``orgs[2].peers[0].port``; a mapping's key as ``.key``."""
    path = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker of an error in a mapping's key rather than its value
            continue
        path = f"{path}[{part}]" if isinstance(part, int) else f"{path}.{part}" if path else part
    return path


def _message(error: ErrorDetails) -> str:
    kind, loc, found = error["type"], error["loc"], describe(error["input"])
    if kind == "fabrx":  # a field type's own problem, worded where it is checked
        return error["msg"]
    if kind == "missing":
        field = _section_at(loc[:-1]).model_fields.get(str(loc[-1]))
        return f"required: {_expected(field) if field else 'a value'}"
    if kind == "extra_forbidden":
        known = list(_section_at(loc[:-1]).model_fields)
        return "unknown key" + (suggest(str(loc[-1]), known) or f" (known: {', '.join(known)})")
    if kind == "string_type":
        return f"expected a name, got {found}" if isinstance(loc[-1], int) else not_a_string(error["input"])
    if kind == "int_type":
        return f"expected an integer, got {found}"
    if kind == "bool_type":
        return f"expected true or false, got {found}"
    if kind == "model_type":
        return f"expected a mapping with keys {', '.join(_section_at(loc).model_fields)}; got {found}"
    if kind == "dict_type":
        return f"expected a mapping, got {found}"
    if kind in ("tuple_type", "list_type"):
        field = _section_at(loc[:-1]).model_fields.get(str(loc[-1]))
        return f"expected {field.description if field and field.description else 'a list'}, got {found}"
    return f"{error['msg']}; got {found}"  # no field type of the model raises anything else


def _section_at(loc: Loc) -> type[BaseModel]:
    """The model class of the section at ``loc``: a field's model, a list's item, a mapping's value."""
    section: type[BaseModel] = Consortium
    in_container = False
    for part in loc:
        if in_container:  # a list index or mapping key: the section stays the items' model
            in_container = False
            continue
        field = section.model_fields.get(part) if isinstance(part, str) else None
        inner = _model_in(field.annotation) if field else None
        if field is None or inner is None:
            break
        section, in_container = inner, get_origin(field.annotation) in (tuple, dict)
    return section


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)


def _expected(field: FieldInfo) -> str:
    """What a missing field needs: its description, else what its type reads as."""
    if field.description:
        return field.description
    section, kind = _model_in(field.annotation), get_origin(field.annotation)
    if kind in (tuple, dict):
        return "a list" if kind is tuple else "a mapping"
    if section is not None:
        return f"a mapping ({', '.join(section.model_fields)})"
    kinds: dict[Any, str] = {str: "a string", int: "an integer", bool: "true or false"}
    return kinds.get(field.annotation, "a value")
