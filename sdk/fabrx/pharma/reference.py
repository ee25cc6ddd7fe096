"""The field reference of the pharma records, generated from the record types of ``fabrx_pharma``.

Each record type reads itself in its ``read`` classmethod with a :class:`fabrx_pharma._fields.FieldReader`
(``f.checked("seller", validate_party_id)``, ``f.decimal("total", places=2)``, ...). This module reads
those calls from the source, with the dataclass fields and their docstrings, the validators' docstrings
and the enums' members, so the reference says exactly what the code accepts: the page
``docs/records.md`` is :func:`render_markdown` (``fabrx pharma fields``), and a unit test fails when
the two differ.

Raises :class:`FieldReferenceError` (from :func:`record_reference`) when a record reads a field in a way this
module does not know how to describe, or a validator has no docstring: the reference is never silently
incomplete.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import re
import textwrap
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from typing import Any

from fabrx_pharma import RECORD_TYPES, RuleId
from fabrx_pharma._base import MAX_RECORD_BYTES, Part
from fabrx_pharma._fields import MAX_ITEMS, MAX_QUANTITY, MAX_TEXT_LENGTH

__all__ = ["FieldDoc", "FieldReferenceError", "PartDoc", "record_reference", "render_markdown"]


class FieldReferenceError(Exception):
    """The reference cannot describe a record type as the code reads it."""


@dataclass(frozen=True)
class FieldDoc:
    """One JSON field of a record or of a part of one."""

    name: str
    required: bool
    form: str
    """What the value must be (type, format, limits), in words."""
    meaning: str
    """The field's docstring in the record type, or ''."""
    part: str | None = None
    """The part (class name) a nested object or list holds, else ``None``."""
    choices: str | None = None
    """The enum class a choice field takes its values from, else ``None``."""


@dataclass(frozen=True)
class PartDoc:
    """A record type (``record_type`` set) or a part of one (a line, a shipment, a lot)."""

    name: str
    record_type: str | None
    summary: str
    key: str | None
    """How the record is identified among the records of its type (``record_type`` only)."""
    fields: tuple[FieldDoc, ...]
    checks: tuple[tuple[str, str], ...]
    """Checks across fields made when the record is read: (field, message); ``…`` stands for a value."""


@dataclass(frozen=True)
class EnumDoc:
    name: str
    summary: str
    members: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Reference:
    records: tuple[PartDoc, ...]
    parts: tuple[PartDoc, ...]
    enums: tuple[EnumDoc, ...]
    rules: tuple[tuple[str, str], ...]


def _doc(obj: object) -> str:
    return inspect.cleandoc(inspect.getdoc(obj) or "")


def _paragraph(text: str) -> str:
    return " ".join(text.split("\n\n")[0].split())


def _class_node(cls: type) -> ast.ClassDef:
    source = textwrap.dedent(inspect.getsource(cls))
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.ClassDef)
    return node


def _attribute_docs(cls: type) -> dict[str, str]:
    """Docstrings written under class attributes (``name: str`` then a string), along the MRO."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not klass.__module__.startswith("fabrx_pharma"):
            continue
        body = _class_node(klass).body
        for stmt, following in itertools.pairwise(body):
            target = None
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                target = stmt.target.id
            elif isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                target = stmt.targets[0].id
            if (
                target
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[target] = _markdown(" ".join(inspect.cleandoc(following.value.value).split()))
    return docs


def _read_method(cls: type) -> tuple[type, ast.FunctionDef]:
    for klass in cls.__mro__:
        if "read" in vars(klass):
            for stmt in _class_node(klass).body:
                if isinstance(stmt, ast.FunctionDef) and stmt.name == "read":
                    return klass, stmt
    raise FieldReferenceError(f"{cls.__name__} has no read method")


def _key_text(cls: type) -> str | None:
    for klass in cls.__mro__:
        if "key" not in vars(klass):
            continue
        for stmt in _class_node(klass).body:
            if isinstance(stmt, ast.FunctionDef) and stmt.name == "key":
                returned = next(n for n in ast.walk(stmt) if isinstance(n, ast.Return))
                assert returned.value is not None
                text = ast.unparse(returned.value).replace("self.", "")
                if text.startswith("str(") and text.endswith(")"):
                    text = text[4:-1]
                return text.removeprefix("f'").removesuffix("'").replace("{", "").replace("}", "")
    return None


def _resolve(name: ast.expr, module: Any) -> Any:
    """The object an expression such as ``validate_party_id`` or ``GoodsLine.read`` names in ``module``."""
    if isinstance(name, ast.Name):
        return getattr(module, name.id)
    if isinstance(name, ast.Attribute):
        return getattr(_resolve(name.value, module), name.attr)
    raise FieldReferenceError(f"cannot resolve {ast.unparse(name)}")


def _keywords(call: ast.Call, module: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            continue
        node = keyword.value
        values[keyword.arg] = node.value if isinstance(node, ast.Constant) else _resolve(node, module)
    return values


def _validator_form(validate: Callable[..., Any]) -> str:
    """A validator's docstring ("Validate X; return it Y. ... Raises ... with rule Z.") as "X, read Y. ...
    Refused with rule Z."."""
    text = " ".join(_doc(validate).split())
    if not text:
        raise FieldReferenceError(f"the validator {validate.__name__} has no docstring to describe its form")
    first, _, rest = text.partition(". ")
    first = first.removeprefix("Validate ")
    first = re.sub(r"(;| and) return (it|its) ", ", read ", first).replace("read in ", "read in ")
    text = _markdown(f"{first[0].upper()}{first[1:]}. {rest}".strip())
    return re.sub(r"Raises `ValidationError` with rule", "Refused with rule", text)


def _markdown(text: str) -> str:
    """reStructuredText roles and literals of docstrings as Markdown."""
    text = re.sub(r":\w+:`~?([\w.]+)`", lambda m: f"`{m[1].rsplit('.', 1)[-1]}`", text)
    return text.replace("``", "`")


def _count(minimum: int, maximum: int) -> str:
    if minimum and minimum == 1:
        return f"1 to {maximum:,} items"
    if minimum:
        return f"{minimum} to {maximum:,} items"
    return f"at most {maximum:,} items"


def _describe(call: ast.Call, module: Any, meaning: str) -> tuple[FieldDoc, Part | None]:
    """The field a ``FieldReader`` call (or ``_number(f, name)``) reads."""
    func = call.func
    method = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    args = call.args[1:] if method == "_number" else call.args
    name_node = args[0]
    if not (isinstance(name_node, ast.Constant) and isinstance(name_node.value, str)):
        raise FieldReferenceError(f"a field read without a literal name: {ast.unparse(call)}")
    name = name_node.value
    kw = _keywords(call, module)
    rest = [_resolve(a, module) for a in args[1:]]
    part: Any = None
    choices = None
    if method == "_number":
        from fabrx_pharma.identifiers import InvoiceNumber

        paragraphs = _doc(InvoiceNumber).split("\n\n")
        required, form = True, "String. " + _markdown(" ".join(paragraphs[1].split()))
    elif method in ("checked", "optional_checked"):
        required = method == "checked" and kw.get("required", True)
        form = "String. " + _validator_form(rest[0])
    elif method == "text":
        required = True
        form = f"Non-empty text, at most {kw.get('max_length', MAX_TEXT_LENGTH):,} characters (trimmed)."
    elif method == "positive_int":
        required = True
        form = f"Integer from 1 to {MAX_QUANTITY:,}."
    elif method == "decimal":
        required = True
        places = kw["places"]
        form = (
            f"Decimal as a string (never a JSON number), at least 0, up to 15 digits before the point and at "
            f"most {places} after it."
        )
    elif method == "date":
        required, form = True, "ISO date `YYYY-MM-DD`."
    elif method == "timestamp":
        required, form = True, "ISO 8601 timestamp with a UTC offset, e.g. `2026-03-02T09:30:00+08:00`."
    elif method == "flag":
        required = False
        form = f"`true` or `false`; `{str(kw.get('default', False)).lower()}` when absent."
    elif method == "choice":
        enum_type = rest[0]
        required = kw.get("required", True)
        form = "One of " + ", ".join(f"`{m.value}`" for m in enum_type) + f" ({enum_type.__name__})."
        choices = enum_type.__name__
    elif method == "objects":
        part = rest[0].__self__
        minimum, maximum = kw.get("min_items", 1), kw.get("max_items", MAX_ITEMS)
        required = minimum > 0
        form = f"List of {part.__name__} objects, {_count(minimum, maximum)}."
    elif method == "strings":
        minimum, maximum = kw.get("min_items", 0), kw.get("max_items", MAX_ITEMS)
        required = minimum > 0
        form = f"List of strings, {_count(minimum, maximum)}; each: {_validator_form(rest[0])}"
    elif method == "nested":
        part = rest[0].__self__
        required, form = True, f"A {part.__name__} object."
    else:
        raise FieldReferenceError(f"unknown way of reading a field: {ast.unparse(call)}")
    return (
        FieldDoc(name, bool(required), form, meaning, part.__name__ if part else None, choices),
        part,
    )


def _message(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "…" for v in node.values
        )
    return None


def _part_doc(cls: type[Part]) -> tuple[PartDoc, list[type[Part]]]:
    owner, read = _read_method(cls)
    module = inspect.getmodule(owner)
    meanings = _attribute_docs(cls)
    found: list[FieldDoc] = []
    parts: list[type[Part]] = []
    checks: list[tuple[str, str]] = []
    for node in ast.walk(read):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        reader_call = (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "f"
        )
        if reader_call and isinstance(func, ast.Attribute) and func.attr == "problem":
            field_node, message_node = node.args[0], node.args[1]
            if isinstance(field_node, ast.Call) and field_node.args:
                target = _message(field_node.args[0]) or "?"
            else:
                target = "?"
            message = _message(message_node)
            if message:
                checks.append((target, message))
            continue
        is_number = isinstance(func, ast.Name) and func.id == "_number"
        if not (
            is_number
            or (
                reader_call
                and isinstance(func, ast.Attribute)
                and func.attr not in ("at", "raw", "mark", "clean_since", "problem")
            )
        ):
            continue
        name_node = (node.args[1:] if is_number else node.args)[0]
        assert isinstance(name_node, ast.Constant) and isinstance(name_node.value, str)
        doc, part = _describe(node, module, meanings.get(name_node.value, ""))
        found.append(doc)
        if part is not None:
            parts.append(part)
    order = {f.name: i for i, f in enumerate(fields(cls))}  # type: ignore[arg-type]
    missing = sorted(set(order) - {f.name for f in found})
    if missing:
        raise FieldReferenceError(
            f"{cls.__name__} reads no field {', '.join(missing)} the way the reference knows"
        )
    defaults = {f.name for f in fields(cls) if f.default is not MISSING or f.default_factory is not MISSING}  # type: ignore[arg-type]
    for doc in found:
        if doc.required and doc.name in defaults:
            raise FieldReferenceError(f"{cls.__name__}.{doc.name} has a default but is read as required")
    record_type = getattr(cls, "RECORD_TYPE", None)
    return (
        PartDoc(
            name=cls.__name__,
            record_type=record_type,
            summary=_markdown(_doc(cls)),
            key=_key_text(cls) if record_type else None,
            fields=tuple(sorted(found, key=lambda f: order[f.name])),
            checks=tuple(dict.fromkeys(checks)),
        ),
        parts,
    )


def record_reference() -> Reference:
    """Every record type of :data:`fabrx_pharma.RECORD_TYPES`, the parts they hold, their choices and the
    rule codes of refusals, as the code defines them."""
    records: list[PartDoc] = []
    parts: dict[str, PartDoc] = {}
    enums: dict[str, EnumDoc] = {}
    pending: list[type[Part]] = []

    def add_enums(doc: PartDoc, cls: type) -> None:
        module = inspect.getmodule(cls)
        for f in doc.fields:
            if f.choices and f.choices not in enums:
                enum_type = getattr(module, f.choices)
                member_docs = _attribute_docs(enum_type)
                enums[f.choices] = EnumDoc(
                    f.choices,
                    _markdown(_paragraph(_doc(enum_type))),
                    tuple((str(m.value), member_docs.get(m.name, "")) for m in enum_type),
                )

    for cls in RECORD_TYPES.values():
        doc, found = _part_doc(cls)
        records.append(doc)
        add_enums(doc, cls)
        pending.extend(found)
    while pending:
        cls = pending.pop(0)
        if cls.__name__ in parts:
            continue
        doc, found = _part_doc(cls)
        parts[cls.__name__] = doc
        add_enums(doc, cls)
        pending.extend(found)
    rule_docs = _attribute_docs(RuleId)
    rules = tuple((rule.value, rule_docs.get(rule.name, "")) for rule in RuleId)
    return Reference(tuple(records), tuple(parts[n] for n in sorted(parts)), tuple(enums.values()), rules)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _anchor(name: str) -> str:
    return name.lower()


def _field_rows(doc: PartDoc) -> list[str]:
    rows = ["| field | required | value | meaning |", "|---|---|---|---|"]
    for f in doc.fields:
        form = f.form
        if f.part:
            form = form.replace(f.part, f"[{f.part}](#{_anchor(f.part)})", 1)
        if f.choices:
            form = form.replace(f"({f.choices})", f"([{f.choices}](#{_anchor(f.choices)}))")
        rows.append(f"| `{f.name}` | {'yes' if f.required else 'no'} | {_cell(form)} | {_cell(f.meaning)} |")
    return rows


def _section(doc: PartDoc, level: str) -> list[str]:
    title = f"`{doc.record_type}` ({doc.name})" if doc.record_type else doc.name
    lines = [f"{level} {title}", "", doc.summary, ""]
    if doc.key:
        lines += [f"Identified by `{doc.key}` among the records of its type.", ""]
    lines += _field_rows(doc)
    if doc.checks:
        lines += ["", "Checked across fields when the record is read (`…` stands for a value):", ""]
        lines += [f"- `{target}`: {_cell(message)}" for target, message in doc.checks]
    lines.append("")
    return lines


HEADER = f"""# Record fields

<!-- Generated by `fabrx pharma fields > docs/records.md` from the record types of `fabrx_pharma`
(fabrx.pharma.reference); edit the record types, not this page. A unit test fails when they differ. -->

Every record an ERP writes to the pharma ledger, field by field, as the domain code (`fabrx_pharma`)
reads it: the facades (`fabrx.pharma`), the command line (`fabrx pharma`), the service (`fabrx serve`)
and the chaincode all read records with this code, so a record this page allows is well-formed
everywhere, and a record it refuses is refused before anything is sent.

How records are read, for every type:

- A record is a JSON object. In Python, build it with the record class (`fabrx_pharma.Invoice(...)`)
  or read it with `Invoice.from_dict(data)` / `Invoice.from_json(text)`; `to_dict()` writes this form.
- Every problem is reported at once, each with the path of its field (`lines[2].quantity`) and a rule
  code, in a `RecordError` (`fabrx_pharma`), `RecordInvalid` (`fabrx.pharma`), or the CLI's and service's
  list of `{{path, message}}` problems. A field the type does not have is refused (`UNKNOWN_FIELD`);
  an optional field may be left out or be `null`.
- JSON input is strict: UTF-8, no duplicate keys, no `NaN`, at most {MAX_RECORD_BYTES:,} bytes.
- Money and other decimals are strings (`"12.50"`), never JSON numbers, and are compared by value:
  `12.5` and `12.50` are the same amount and give the same record hash (the canonical JSON writes amounts
  with at least two decimals).
- Text is trimmed; a list holds at most {MAX_ITEMS:,} items unless its row says otherwise.
- A well-formed record can still be refused on write by the rules of the ledger (below, "Rule codes").
"""


def render_markdown(reference: Reference | None = None) -> str:
    """The reference as the Markdown page ``docs/records.md``."""
    reference = reference or record_reference()
    lines = [HEADER, "## Record types", "", "| record type | class | identified by |", "|---|---|---|"]
    for doc in reference.records:
        lines.append(
            f"| [`{doc.record_type}`](#{_anchor(doc.record_type or '')}-{_anchor(doc.name)}) | "
            f"`fabrx_pharma.{doc.name}` | `{doc.key}` |"
        )
    lines.append("")
    for doc in reference.records:
        lines += _section(doc, "###")
    lines += ["## Parts of records", ""]
    for doc in reference.parts:
        lines += _section(doc, "###")
    lines += ["## Choices", ""]
    for e in reference.enums:
        lines += [f"### {e.name}", "", e.summary, "", "| value | meaning |", "|---|---|"]
        lines += [f"| `{value}` | {_cell(meaning)} |" for value, meaning in e.members]
        lines.append("")
    lines += [
        "## Rule codes",
        "",
        "A well-formed record is refused on write when it breaks a rule against the ledger; the refusal "
        "names the rule, the field and the values involved (`PharmaError.rule`, `.field`, `.message`). The "
        "regulator's findings use the same codes.",
        "",
        "| rule | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{rule}` | {_cell(meaning) or '—'} |" for rule, meaning in reference.rules]
    return "\n".join(lines).rstrip("\n") + "\n"
