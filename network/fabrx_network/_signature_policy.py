"""The grammar of Fabric signature policies, enough to validate them and list their principals.

Fabric's own parser (``policydsl``) accepts ``AND(...)``, ``OR(...)`` and ``OutOf(n, ...)`` around
quoted principals ``'<MSP ID>.<role>'``. Checking this at load time turns a typo into a config
problem with a path instead of a failed chaincode approval later.
"""

from __future__ import annotations

import re

__all__ = ["signature_policy_principals"]

_POLICY_TOKEN = re.compile(r"\s*(?:(?P<punct>[(),])|(?P<quoted>'[^']*'|\"[^\"]*\")|(?P<word>[A-Za-z0-9]+))")
_PRINCIPAL = re.compile(r"^(?P<msp>[A-Za-z0-9.-]+)\.(?P<role>admin|member|client|peer|orderer)$")


def signature_policy_principals(policy: str) -> list[tuple[str, str]]:
    """The ``(msp_id, role)`` principals of a signature policy such as ``OutOf(2, 'A.peer', 'B.peer')``.

    Accepts ``AND``, ``OR`` and ``OutOf`` (any case) around quoted principals with roles admin, member,
    client, peer or orderer. Raises ``ValueError`` saying what is wrong and where.
    """
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(policy.rstrip()):
        match = _POLICY_TOKEN.match(policy, position)
        if not match:
            raise ValueError(f"signature policy {policy!r}: unexpected character at position {position + 1}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    principals: list[tuple[str, str]] = []
    rest = _parse_policy_expression(policy, tokens, 0, principals)
    if rest != len(tokens):
        raise ValueError(f"signature policy {policy!r}: unexpected {tokens[rest][1]!r} after the expression")
    return principals


def _parse_policy_expression(
    policy: str, tokens: list[tuple[str, str]], i: int, out: list[tuple[str, str]]
) -> int:
    def fail(what: str) -> ValueError:
        return ValueError(f"signature policy {policy!r}: {what}")

    if i >= len(tokens):
        raise fail("ends too early")
    kind, value = tokens[i]
    if kind == "quoted":
        match = _PRINCIPAL.match(value[1:-1])
        if not match:
            raise fail(
                f"{value} is not a principal like 'OrgMSP.peer' (roles: admin, member, client, peer, orderer)"
            )
        out.append((match.group("msp"), match.group("role")))
        return i + 1
    if kind != "word" or value.lower() not in ("and", "or", "outof"):
        raise fail(f"expected AND(...), OR(...), OutOf(n, ...) or a quoted principal, found {value!r}")
    if i + 1 >= len(tokens) or tokens[i + 1][1] != "(":
        raise fail(f"expected '(' after {value}")
    i += 2
    threshold = None
    if value.lower() == "outof":
        if i >= len(tokens) or not tokens[i][1].isdigit():
            raise fail("OutOf needs a number first, e.g. OutOf(2, 'A.peer', 'B.peer')")
        threshold = int(tokens[i][1])
        i += 1
        if i >= len(tokens) or tokens[i][1] != ",":
            raise fail("expected ',' after the OutOf count")
        i += 1
    count = 0
    while True:
        i = _parse_policy_expression(policy, tokens, i, out)
        count += 1
        if i < len(tokens) and tokens[i][1] == ",":
            i += 1
            continue
        if i < len(tokens) and tokens[i][1] == ")":
            break
        raise fail(f"expected ',' or ')' in {value}(...)")
    if threshold is not None and not 1 <= threshold <= count:
        raise fail(f"OutOf({threshold}, ...) needs between 1 and {count} (the number of sub-policies)")
    return i + 1
