"""The principals of a Fabric signature policy, for validating consortium files at load time.

Parsing is :func:`fabrx.admin.parse_signature_policy`, the same parser that builds the policies
fabrx approves; this module only lists the ``(msp_id, role)`` principals so the loader can check them
against the organizations. A typo thus becomes a config problem with a path, not a failed approval.
"""

from __future__ import annotations

from fabric_protos.msp import msp_principal_pb2

from fabrx.admin import parse_signature_policy

__all__ = ["signature_policy_principals"]


def signature_policy_principals(policy: str) -> list[tuple[str, str]]:
    """The ``(msp_id, role)`` principals of a signature policy such as ``OutOf(2, 'A.peer', 'B.peer')``.

    Raises ``ValueError`` (a :class:`fabrx.admin.PolicySyntaxError`) saying what is wrong and where.
    """
    envelope = parse_signature_policy(policy)
    principals: list[tuple[str, str]] = []
    for identity in envelope.identities:
        role = msp_principal_pb2.MSPRole.FromString(identity.principal)
        role_name = msp_principal_pb2.MSPRole.MSPRoleType.Name(role.role).lower()
        principals.append((role.msp_identifier, role_name))
    return principals
