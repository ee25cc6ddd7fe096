"""Key-level (state-based) endorsement policies.

A key-level policy overrides the chaincode endorsement policy for writes to one key: store it with
``stub.set_state_validation_parameter(key, policy.policy)``. This builder expresses the common case,
"every one of these organizations must endorse", as a ``common.SignaturePolicyEnvelope``: an
N-out-of-N rule over one ``MSPRole`` principal per organization, organizations sorted by MSP id so the
bytes are deterministic.
"""

from __future__ import annotations

from enum import StrEnum

from fabric_protos.common import policies_pb2
from fabric_protos.msp import msp_principal_pb2

from .errors import ChaincodeError

__all__ = ["KeyEndorsementPolicy", "RoleType"]


class RoleType(StrEnum):
    """The role an organization's endorser must have.

    PEER fits channels whose MSPs enable node OUs; MEMBER fits channels that do not.
    """

    MEMBER = "MEMBER"
    PEER = "PEER"


_ROLE_CODES = {
    RoleType.MEMBER: msp_principal_pb2.MSPRole.MEMBER,
    RoleType.PEER: msp_principal_pb2.MSPRole.PEER,
}
_ROLES_BY_CODE = {code: role for role, code in _ROLE_CODES.items()}


class KeyEndorsementPolicy:
    """A mutable set of organizations that must all endorse writes to a key.

    Args:
        policy: existing policy bytes (from ``get_state_validation_parameter``) to start from; the
            role principals in it are kept, other principal kinds are dropped.

    Raises:
        ChaincodeError: ``policy`` is not a serialized ``SignaturePolicyEnvelope``.
    """

    def __init__(self, policy: bytes | None = None) -> None:
        self._orgs: dict[str, RoleType] = {}
        if policy:
            try:
                envelope = policies_pb2.SignaturePolicyEnvelope.FromString(policy)
                for identity in envelope.identities:
                    if identity.principal_classification != msp_principal_pb2.MSPPrincipal.ROLE:
                        continue
                    role = msp_principal_pb2.MSPRole.FromString(identity.principal)
                    self._orgs[role.msp_identifier] = _ROLES_BY_CODE.get(role.role, RoleType.MEMBER)
            except Exception as exc:  # protobuf DecodeError; translated here only
                raise ChaincodeError(f"the key-level endorsement policy cannot be decoded: {exc}") from exc

    def add_orgs(self, role: RoleType, *msp_ids: str) -> None:
        """Require an endorsement with ``role`` from each of ``msp_ids`` (replacing an earlier role)."""
        resolved = RoleType(role)
        for msp_id in msp_ids:
            self._orgs[msp_id] = resolved

    def delete_orgs(self, *msp_ids: str) -> None:
        """Stop requiring endorsements from ``msp_ids``; unknown ids are ignored."""
        for msp_id in msp_ids:
            self._orgs.pop(msp_id, None)

    @property
    def orgs(self) -> tuple[str, ...]:
        """The MSP ids whose endorsement is required, sorted."""
        return tuple(sorted(self._orgs))

    def role_of(self, msp_id: str) -> RoleType | None:
        """The required role of ``msp_id``, or None when it is not in the policy."""
        return self._orgs.get(msp_id)

    @property
    def policy(self) -> bytes:
        """The policy as serialized ``common.SignaturePolicyEnvelope`` bytes."""
        msp_ids = self.orgs
        identities = [
            msp_principal_pb2.MSPPrincipal(
                principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
                principal=msp_principal_pb2.MSPRole(
                    msp_identifier=msp_id, role=_ROLE_CODES[self._orgs[msp_id]]
                ).SerializeToString(),
            )
            for msp_id in msp_ids
        ]
        rules = [policies_pb2.SignaturePolicy(signed_by=index) for index in range(len(msp_ids))]
        envelope = policies_pb2.SignaturePolicyEnvelope(
            version=0,
            rule=policies_pb2.SignaturePolicy(
                n_out_of=policies_pb2.SignaturePolicy.NOutOf(n=len(msp_ids), rules=rules)
            ),
            identities=identities,
        )
        return envelope.SerializeToString()
