"""Signature policy strings: ``OR('Org1MSP.peer', AND('Org2MSP.member', 'Org3MSP.admin'))``.

The language is Fabric's (``peer lifecycle chaincode approveformyorg --signature-policy``):

* a gate is ``AND(...)``, ``OR(...)`` or ``OutOf(n, ...)`` (each also all lower or all upper case);
* an argument is a nested gate or a principal ``'<MSP id>.<role>'`` in single or double quotes, with
  role ``member``, ``admin``, ``client``, ``peer`` or ``orderer``;
* ``OutOf(n, ...)`` is satisfied by ``n`` of its arguments; ``AND`` by all; ``OR`` by one.

Principals are numbered the way Fabric's parser numbers them (the principals of nested gates first,
then the gate's own, left to right, without de-duplication), so a definition approved with fabrx
serializes to the same bytes as one approved with the ``peer`` CLI, and the two approvals match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

from ..errors import AdminError

__all__ = ["PolicySyntaxError", "format_signature_policy", "parse_signature_policy"]

_ROLES: dict[str, int] = {
    "member": msp_principal_pb2.MSPRole.MEMBER,
    "admin": msp_principal_pb2.MSPRole.ADMIN,
    "client": msp_principal_pb2.MSPRole.CLIENT,
    "peer": msp_principal_pb2.MSPRole.PEER,
    "orderer": msp_principal_pb2.MSPRole.ORDERER,
}
_ROLE_NAMES = {value: name for name, value in _ROLES.items()}
# Fabric accepts exactly these spellings of each gate.
_GATES: dict[str, str] = {
    spelling: gate for gate in ("And", "Or", "OutOf") for spelling in (gate, gate.lower(), gate.upper())
}
# Fabric's principal pattern: ASCII alphanumerics, dots and dashes, then ".<role>" (greedy, so an MSP
# id may itself contain dots).
_PRINCIPAL = re.compile(r"^([A-Za-z0-9.-]+)\.(admin|member|client|peer|orderer)$")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<name>[A-Za-z_][A-Za-z0-9_.-]*)
      | (?P<number>[0-9]+)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<punct>[(),])
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)


class PolicySyntaxError(AdminError, ValueError):
    """A signature policy string does not parse; ``position`` is the 0-based offset of ``token``."""

    def __init__(self, policy: str, position: int, token: str, problem: str) -> None:
        self.policy = policy
        self.position = position
        self.token = token
        shown = repr(token) if token else "end of policy"
        super().__init__(f"invalid signature policy {policy!r}: {problem} at position {position} ({shown})")


@dataclass(frozen=True)
class _Token:
    kind: str  # name, number, string, punct, end
    text: str
    position: int


@dataclass
class _Gate:
    threshold: int
    # Each argument is either a nested gate or a (msp_id, role) principal.
    arguments: list[_Gate | tuple[str, int]]


def parse_signature_policy(policy: str) -> policies_pb2.SignaturePolicyEnvelope:
    """Parse a signature policy string into a ``common.SignaturePolicyEnvelope``.

    Raises:
        PolicySyntaxError: (an :class:`~fabrx.errors.AdminError` and a ``ValueError``) naming the bad
            token and its position.
    """
    parser = _Parser(policy)
    gate = parser.parse()
    identities: list[msp_principal_pb2.MSPPrincipal] = []
    rule = _to_rule(gate, identities)
    return policies_pb2.SignaturePolicyEnvelope(version=0, rule=rule, identities=identities)


def format_signature_policy(envelope: policies_pb2.SignaturePolicyEnvelope) -> str:
    """Render an envelope back into the policy language (``AND``/``OR`` where they apply, else ``OutOf``).

    Principals other than MSP roles are shown as ``<principal classification N>``.
    """

    def principal(index: int) -> str:
        if index >= len(envelope.identities):
            return f"<missing identity {index}>"
        identity = envelope.identities[index]
        if identity.principal_classification != msp_principal_pb2.MSPPrincipal.ROLE:
            return f"<principal classification {identity.principal_classification}>"
        role = msp_principal_pb2.MSPRole.FromString(identity.principal)
        return f"'{role.msp_identifier}.{_ROLE_NAMES.get(role.role, str(role.role))}'"

    def render(rule: policies_pb2.SignaturePolicy) -> str:
        if rule.WhichOneof("Type") == "signed_by":
            return principal(rule.signed_by)
        rules = rule.n_out_of.rules
        inner = ", ".join(render(r) for r in rules)
        n = rule.n_out_of.n
        if n == 1:  # also a one-argument AND: the same bytes
            return f"OR({inner})"
        if n == len(rules):
            return f"AND({inner})"
        return f"OutOf({n}, {inner})"

    return render(envelope.rule)


def _to_rule(gate: _Gate, identities: list[msp_principal_pb2.MSPPrincipal]) -> policies_pb2.SignaturePolicy:
    # Fabric evaluates the nested gates (arguments) before the gate itself numbers its own principals.
    nested = {i: _to_rule(arg, identities) for i, arg in enumerate(gate.arguments) if isinstance(arg, _Gate)}
    rules: list[policies_pb2.SignaturePolicy] = []
    for i, arg in enumerate(gate.arguments):
        if isinstance(arg, _Gate):
            rules.append(nested[i])
            continue
        msp_id, role = arg
        identities.append(
            msp_principal_pb2.MSPPrincipal(
                principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
                principal=msp_principal_pb2.MSPRole(msp_identifier=msp_id, role=role).SerializeToString(),
            )
        )
        rules.append(policies_pb2.SignaturePolicy(signed_by=len(identities) - 1))
    return policies_pb2.SignaturePolicy(
        n_out_of=policies_pb2.SignaturePolicy.NOutOf(n=gate.threshold, rules=rules)
    )


class _Parser:
    """Recursive descent over the tokens of one policy string."""

    def __init__(self, policy: str) -> None:
        self._policy = policy
        self._tokens = self._tokenize(policy)
        self._index = 0

    def parse(self) -> _Gate:
        token = self._peek()
        if token.kind != "name":
            raise self._error(token, "expected a gate AND(...), OR(...) or OutOf(n, ...)")
        gate = self._gate()
        self._expect_kind("end", "unexpected text after the policy")
        return gate

    def _tokenize(self, policy: str) -> list[_Token]:
        tokens: list[_Token] = []
        position = 0
        while position < len(policy):
            match = _TOKEN.match(policy, position)
            if match is None or match.lastgroup is None:  # only trailing whitespace is left
                break
            kind = match.lastgroup
            start = match.start(kind)
            if kind == "bad":
                text = match.group(kind)
                problem = "unterminated quoted principal" if text in "'\"" else "unexpected character"
                raise PolicySyntaxError(policy, start, text, problem)
            tokens.append(_Token(kind, match.group(kind), start))
            position = match.end()
        tokens.append(_Token("end", "", len(policy)))
        return tokens

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _next(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _error(self, token: _Token, problem: str) -> PolicySyntaxError:
        return PolicySyntaxError(self._policy, token.position, token.text, problem)

    def _expect_kind(self, kind: str, problem: str) -> _Token:
        token = self._next()
        if token.kind != kind:
            raise self._error(token, problem)
        return token

    def _expect_punct(self, text: str) -> None:
        token = self._next()
        if token.kind != "punct" or token.text != text:
            raise self._error(token, f"expected {text!r}")

    def _gate(self) -> _Gate:
        name = self._next()
        gate = _GATES.get(name.text)
        if gate is None:
            raise self._error(name, "unknown gate: use AND, OR or OutOf")
        self._expect_punct("(")
        threshold_token: _Token | None = None
        threshold = 0
        if gate == "OutOf":
            threshold_token = self._expect_kind("number", "OutOf needs a whole number as its first argument")
            threshold = int(threshold_token.text)
            self._expect_punct(",")
        arguments = [self._argument()]
        while True:
            token = self._next()
            if token.kind == "punct" and token.text == ")":
                break
            if token.kind != "punct" or token.text != ",":
                raise self._error(token, "expected ',' or ')'")
            arguments.append(self._argument())
        if gate == "And":
            threshold = len(arguments)
        elif gate == "Or":
            threshold = 1
        elif threshold_token is not None and not 1 <= threshold <= len(arguments):
            raise self._error(
                threshold_token, f"OutOf needs 1 <= n <= {len(arguments)} (the number of its arguments)"
            )
        return _Gate(threshold, arguments)

    def _argument(self) -> _Gate | tuple[str, int]:
        token = self._peek()
        if token.kind == "name" and token.text not in _GATES and _PRINCIPAL.match(token.text):
            raise self._error(token, f"quote the principal: '{token.text}'")
        if token.kind == "name":
            return self._gate()
        if token.kind != "string":
            raise self._error(token, "expected a principal like 'Org1MSP.member' or a nested gate")
        self._next()
        match = _PRINCIPAL.match(token.text[1:-1])
        if match is None:
            raise self._error(
                token, "a principal is '<MSP id>.<role>' with role member, admin, client, peer or orderer"
            )
        return match.group(1), _ROLES[match.group(2)]
