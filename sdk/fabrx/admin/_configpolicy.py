"""Evaluating channel policies against a set of signers, as the orderer does for a config update.

A signer is an identity the channel's MSPs recognise: its certificate chains to a root or intermediate
certificate of the MSP named by its MSP id and is not on the MSP's CRLs; its roles follow the MSP's node
OUs (``admin``, ``peer``, ``client``, ``orderer`` organizational units) or the MSP's ``admins`` list.
Policies evaluate as Fabric's do:

* a signature policy (``OutOf(n, ...)``) counts distinct signers, each used for at most one principal;
* an ImplicitMeta policy (``MAJORITY Admins``) evaluates the named sub-policy of each child group on its
  own and counts those satisfied (``ANY`` 1, ``ALL`` all, ``MAJORITY`` more than half).

The result explains itself: which sub-policies (organizations) are satisfied and what is missing.
Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from fabric_protos.common import configtx_pb2, policies_pb2
from fabric_protos.msp import msp_principal_pb2

from .channelconfig import ChannelConfig, MspDefinition
from .policy import format_signature_policy

__all__ = ["PolicyOutcome", "Signer", "classify_signer", "evaluate_policy"]

_MAX_DEPTH = 8
_PEM = Encoding.PEM
_ROLE_OU = {
    msp_principal_pb2.MSPRole.ADMIN: "admin",
    msp_principal_pb2.MSPRole.PEER: "peer",
    msp_principal_pb2.MSPRole.CLIENT: "client",
    msp_principal_pb2.MSPRole.ORDERER: "orderer",
}


@dataclass(frozen=True)
class Signer:
    """A recognised signer: its MSP id, roles (``member`` plus OUs) and a name for messages."""

    msp_id: str
    roles: frozenset[str]
    subject: str

    def __str__(self) -> str:
        role = "admin" if "admin" in self.roles else "/".join(sorted(self.roles - {"member"})) or "member"
        return f"{self.msp_id} {role} {self.subject}"


def classify_signer(msp: MspDefinition, certificate: x509.Certificate) -> Signer | str:
    """The signer ``certificate`` is for ``msp``, or the reason it is not valid there."""
    issuers = []
    for pem in (*msp.root_certs, *msp.intermediate_certs):
        try:
            issuers.append(x509.load_pem_x509_certificate(pem))
        except ValueError:
            continue
    if not any(_issued_by(certificate, issuer) for issuer in issuers):
        return f"its certificate is not issued by a CA of {msp.msp_id}"
    if certificate.serial_number in msp.revoked_serials():
        return f"its certificate (serial {certificate.serial_number:x}) is revoked by {msp.msp_id}'s CRL"
    ous = {
        str(attribute.value)
        for attribute in certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    }
    roles = {"member"}
    if msp.node_ous:
        roles.update(role for role, ou in msp.ou_identifiers.items() if ou in ous)
    pem = certificate.public_bytes(_PEM)
    if any(_same_cert(pem, admin) for admin in msp.admins):
        roles.add("admin")
    common_names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    subject = str(common_names[0].value) if common_names else certificate.subject.rfc4514_string()
    return Signer(msp_id=msp.msp_id, roles=frozenset(roles), subject=subject)


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):  # wrong issuer, or a key type that cannot sign
        return False
    return True


def _same_cert(pem: bytes, other: bytes) -> bool:
    try:
        return x509.load_pem_x509_certificate(other).public_bytes(_PEM) == pem
    except ValueError:
        return False


@dataclass(frozen=True)
class PolicyOutcome:
    """Whether a policy is satisfied, and in words why not (``missing``) or by whom (``satisfied_by``)."""

    path: str
    satisfied: bool
    rule: str
    satisfied_by: tuple[str, ...]
    missing: str


def evaluate_policy(config: ChannelConfig, path: str, signers: tuple[Signer, ...]) -> PolicyOutcome:
    """Evaluate the channel policy at absolute ``path`` (``/Channel/Application/Admins``).

    A path naming no policy is reported as unsatisfied with the reason, never raised.
    """
    *group_names, name = path.split("/")[2:]
    group = config.channel_group
    for group_name in group_names:
        if group_name not in group.groups:
            return PolicyOutcome(path, False, "", (), f"the channel has no policy {path}")
        group = group.groups[group_name]
    return _evaluate(group, name, path, signers, 0)


def _evaluate(
    group: configtx_pb2.ConfigGroup, name: str, path: str, signers: tuple[Signer, ...], depth: int
) -> PolicyOutcome:
    if depth > _MAX_DEPTH or name not in group.policies:
        return PolicyOutcome(path, False, "", (), f"the channel has no policy {path}")
    policy = group.policies[name].policy
    if policy.type == policies_pb2.Policy.SIGNATURE:
        envelope = policies_pb2.SignaturePolicyEnvelope.FromString(policy.value)
        rule = format_signature_policy(envelope)
        used = [False] * len(signers)
        if _signature_rule(envelope.rule, envelope, signers, used):
            by = tuple(str(s) for s, u in zip(signers, used, strict=True) if u)
            return PolicyOutcome(path, True, rule, by, "")
        return PolicyOutcome(path, False, rule, (), f"a signature satisfying {rule}")
    if policy.type != policies_pb2.Policy.IMPLICIT_META:
        return PolicyOutcome(path, False, "", (), f"{path} is a policy of a kind fabrx does not evaluate")
    meta = policies_pb2.ImplicitMetaPolicy.FromString(policy.value)
    rule_name = policies_pb2.ImplicitMetaPolicy.Rule.Name(meta.rule)
    children = sorted(group.groups.items())
    outcomes = [
        _evaluate(
            child,
            meta.sub_policy,
            f"{path.rsplit('/', 1)[0]}/{child_name}/{meta.sub_policy}",
            signers,
            depth + 1,
        )
        for child_name, child in children
    ]
    if meta.rule == policies_pb2.ImplicitMetaPolicy.ANY:
        threshold = 1
    elif meta.rule == policies_pb2.ImplicitMetaPolicy.ALL:
        threshold = len(outcomes)
    else:
        threshold = len(outcomes) // 2 + 1
    threshold = threshold if outcomes else 0
    met = [o for o in outcomes if o.satisfied]
    rule = f"{rule_name} {meta.sub_policy} ({threshold} of {len(outcomes)})"
    if len(met) >= threshold:
        return PolicyOutcome(path, True, rule, tuple(s for o in met for s in o.satisfied_by), "")
    unmet = [o.path for o in outcomes if not o.satisfied]
    missing = (
        f"{threshold - len(met)} more of {', '.join(unmet)} "
        f"(satisfied: {', '.join(o.path for o in met) or 'none'})"
    )
    return PolicyOutcome(path, False, rule, tuple(s for o in met for s in o.satisfied_by), missing)


def _signature_rule(
    rule: policies_pb2.SignaturePolicy,
    envelope: policies_pb2.SignaturePolicyEnvelope,
    signers: tuple[Signer, ...],
    used: list[bool],
) -> bool:
    if rule.WhichOneof("Type") == "signed_by":
        if rule.signed_by >= len(envelope.identities):
            return False
        principal = envelope.identities[rule.signed_by]
        for index, signer in enumerate(signers):
            if not used[index] and _satisfies(signer, principal):
                used[index] = True
                return True
        return False
    satisfied = 0
    for sub_rule in rule.n_out_of.rules:
        trial = list(used)
        if _signature_rule(sub_rule, envelope, signers, trial):
            satisfied += 1
            used[:] = trial
    return satisfied >= rule.n_out_of.n


def _satisfies(signer: Signer, principal: msp_principal_pb2.MSPPrincipal) -> bool:
    if principal.principal_classification != msp_principal_pb2.MSPPrincipal.ROLE:
        return False
    role = msp_principal_pb2.MSPRole.FromString(principal.principal)
    if role.msp_identifier != signer.msp_id:
        return False
    if role.role == msp_principal_pb2.MSPRole.MEMBER:
        return True
    return _ROLE_OU.get(role.role, "") in signer.roles
