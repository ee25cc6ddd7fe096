from __future__ import annotations

import pytest
from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

from fabrx.admin import PolicySyntaxError, format_signature_policy, parse_signature_policy
from fabrx.errors import AdminError

ROLE = msp_principal_pb2.MSPRole


def principals(envelope: policies_pb2.SignaturePolicyEnvelope) -> list[tuple[str, int]]:
    result = []
    for identity in envelope.identities:
        assert identity.principal_classification == msp_principal_pb2.MSPPrincipal.ROLE
        role = ROLE.FromString(identity.principal)
        result.append((role.msp_identifier, role.role))
    return result


def signed_by(index: int) -> policies_pb2.SignaturePolicy:
    return policies_pb2.SignaturePolicy(signed_by=index)


def n_of(n: int, *rules: policies_pb2.SignaturePolicy) -> policies_pb2.SignaturePolicy:
    return policies_pb2.SignaturePolicy(n_out_of=policies_pb2.SignaturePolicy.NOutOf(n=n, rules=list(rules)))


def test_or_of_principals_needs_one_signature() -> None:
    envelope = parse_signature_policy("OR('Org1MSP.peer', 'Org2MSP.peer')")
    assert envelope.version == 0
    assert envelope.rule == n_of(1, signed_by(0), signed_by(1))
    assert principals(envelope) == [("Org1MSP", ROLE.PEER), ("Org2MSP", ROLE.PEER)]


def test_and_needs_every_argument() -> None:
    envelope = parse_signature_policy("AND('A.member', 'B.admin', 'C.client')")
    assert envelope.rule.n_out_of.n == 3
    assert principals(envelope) == [("A", ROLE.MEMBER), ("B", ROLE.ADMIN), ("C", ROLE.CLIENT)]


def test_outof_threshold_is_kept() -> None:
    envelope = parse_signature_policy("OutOf(2, 'A.member', 'B.member', 'C.orderer')")
    assert envelope.rule == n_of(2, signed_by(0), signed_by(1), signed_by(2))
    assert principals(envelope)[2] == ("C", ROLE.ORDERER)


def test_nested_gates_number_principals_like_fabric() -> None:
    # Fabric's parser evaluates nested gates (arguments) first, then the gate's own principals.
    envelope = parse_signature_policy("OR('Org1MSP.peer', AND('A.member', 'B.admin'))")
    assert principals(envelope) == [("A", ROLE.MEMBER), ("B", ROLE.ADMIN), ("Org1MSP", ROLE.PEER)]
    assert envelope.rule == n_of(1, signed_by(2), n_of(2, signed_by(0), signed_by(1)))


def test_deep_nesting_numbers_left_to_right_within_each_level() -> None:
    envelope = parse_signature_policy("AND(OR('A.member', 'B.member'), 'C.member', OR('D.member'))")
    assert [msp for msp, _ in principals(envelope)] == ["A", "B", "D", "C"]
    assert envelope.rule == n_of(3, n_of(1, signed_by(0), signed_by(1)), signed_by(3), n_of(1, signed_by(2)))


def test_repeated_principals_are_not_deduplicated() -> None:
    envelope = parse_signature_policy("OR('A.member', 'A.member')")
    assert principals(envelope) == [("A", ROLE.MEMBER), ("A", ROLE.MEMBER)]


@pytest.mark.parametrize(
    "policy",
    [
        "and('A.member')",
        "And('A.member')",
        "AND('A.member')",
        "outof(1, 'A.member')",
        "OUTOF(1, 'A.member')",
        'OR("A.member")',
        "  OR ( 'A.member' ,\n 'B.peer' )  ",
    ],
)
def test_accepted_spellings_and_whitespace(policy: str) -> None:
    assert parse_signature_policy(policy).rule.n_out_of.n == 1


def test_msp_ids_may_contain_dots_and_dashes() -> None:
    envelope = parse_signature_policy("OR('org-1.example.com.admin')")
    assert principals(envelope) == [("org-1.example.com", ROLE.ADMIN)]


def test_same_string_gives_identical_bytes() -> None:
    policy = "OutOf(2, 'A.peer', OR('B.peer', 'C.peer'), 'D.peer')"
    assert (
        parse_signature_policy(policy).SerializeToString()
        == parse_signature_policy(policy).SerializeToString()
    )


@pytest.mark.parametrize(
    ("policy", "position", "token", "problem"),
    [
        ("XOR('A.member')", 0, "XOR", "unknown gate"),
        ("aNd('A.member')", 0, "aNd", "unknown gate"),
        ("OR('A.boss')", 3, "'A.boss'", "principal"),
        ("OR('Amember')", 3, "'Amember'", "principal"),
        ("OR('A.member'", 13, "", "expected ',' or ')'"),
        ("OR('A.member' 'B.member')", 14, "'B.member'", "expected ',' or ')'"),
        ("OR()", 3, ")", "expected a principal"),
        ("OR('A.member') extra", 15, "extra", "unexpected text"),
        ("OutOf(3, 'A.member', 'B.member')", 6, "3", "1 <= n <= 2"),
        ("OutOf(0, 'A.member')", 6, "0", "1 <= n <= 1"),
        ("OutOf('A.member')", 6, "'A.member'", "whole number"),
        ("OR('A.member", 3, "'", "unterminated"),
        ("OR('A.member'; 'B.member')", 13, ";", "unexpected character"),
        ("'A.member'", 0, "'A.member'", "expected a gate"),
        ("", 0, "", "expected a gate"),
        ("OR(A.member)", 3, "A.member", "quote the principal"),
        ("OR(A.bad)", 3, "A.bad", "unknown gate"),
    ],
)
def test_errors_name_token_and_position(policy: str, position: int, token: str, problem: str) -> None:
    with pytest.raises(PolicySyntaxError) as caught:
        parse_signature_policy(policy)
    error = caught.value
    assert (error.position, error.token) == (position, token)
    assert problem in str(error)
    assert f"position {position}" in str(error)


def test_syntax_error_is_both_admin_error_and_value_error() -> None:
    with pytest.raises(AdminError):
        parse_signature_policy("nope")
    with pytest.raises(ValueError):
        parse_signature_policy("nope")


@pytest.mark.parametrize(
    "policy",
    [
        "OR('Org1MSP.peer', 'Org2MSP.peer')",
        "AND('A.member', 'B.admin')",
        "OutOf(2, 'A.member', 'B.member', 'C.client')",
        "OR('Org1MSP.peer', AND('A.member', OR('B.admin', 'C.orderer')))",
    ],
)
def test_format_round_trips(policy: str) -> None:
    envelope = parse_signature_policy(policy)
    assert format_signature_policy(envelope) == policy
    assert parse_signature_policy(format_signature_policy(envelope)) == envelope
