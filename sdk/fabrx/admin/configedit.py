"""The configuration changes an operator makes, each a pure function: current config → changed copy.

Each function checks its input against the current configuration and raises :class:`AdminError`
naming what is wrong, before anything is computed; hand the result to
:func:`~fabrx.admin.new_channel_update` to get the update to sign.

* :func:`set_anchor_peers`: replace an organization's anchor peers (its own ``Admins`` policy).
* :func:`add_organization`: a new application organization from a :class:`JoinRequest`
  (``/Channel/Application/Admins``, usually ``MAJORITY Admins``).
* :func:`remove_organization`: drop an application organization (the same policy).
* :func:`add_crl`: put a CRL issued by an organization's CA into its MSP definition (its ``Admins``).
* :func:`remove_consenter`: drop a Raft consenter and its orderer endpoint (``/Channel/Orderer/Admins``
  and the orderer organization's ``Admins``); never the last one.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from fabric_protos.common import configtx_pb2, configuration_pb2, policies_pb2
from fabric_protos.msp import msp_config_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_configuration_pb2
from fabric_protos.orderer.etcdraft import configuration_pb2 as etcdraft_pb2
from fabric_protos.peer import configuration_pb2 as peer_configuration_pb2

from ..errors import AdminError
from .channelconfig import (
    ANCHOR_PEERS_KEY,
    APPLICATION,
    CONSENSUS_TYPE_KEY,
    ENDPOINTS_KEY,
    MSP_KEY,
    ORDERER,
    AnchorPeer,
    ChannelConfig,
)
from .joinrequest import JoinRequest
from .policy import parse_signature_policy

__all__ = ["add_crl", "add_organization", "remove_consenter", "remove_organization", "set_anchor_peers"]

ADMINS = "Admins"


def _org_group_name(config: ChannelConfig, msp_id: str) -> str:
    return config.application_org(msp_id).name


def set_anchor_peers(
    config: ChannelConfig, msp_id: str, anchor_peers: Sequence[AnchorPeer]
) -> configtx_pb2.Config:
    """``config`` with the anchor peers of application organization ``msp_id`` replaced.

    An empty ``anchor_peers`` removes the value.

    Raises:
        AdminError: no such organization, or the anchor peers are already exactly these.
    """
    org = config.application_org(msp_id)
    if tuple(anchor_peers) == org.anchor_peers:
        shown = ", ".join(map(str, anchor_peers)) or "none"
        raise AdminError(f"the anchor peers of {msp_id} in {config.channel_id} are already {shown}")
    changed = config.copy()
    group = changed.channel_group.groups[APPLICATION].groups[org.name]
    if not anchor_peers:
        del group.values[ANCHOR_PEERS_KEY]
        return changed
    value = peer_configuration_pb2.AnchorPeers(
        anchor_peers=[peer_configuration_pb2.AnchorPeer(host=a.host, port=a.port) for a in anchor_peers]
    )
    entry = group.values[ANCHOR_PEERS_KEY]
    entry.value = value.SerializeToString()
    entry.mod_policy = entry.mod_policy or ADMINS
    return changed


def add_organization(config: ChannelConfig, request: JoinRequest) -> configtx_pb2.Config:
    """``config`` with the organization of ``request`` added to the channel's application group.

    The organization's group gets the policies fabrx gives every member (``Readers``: admin, peer or
    client; ``Writers``: admin or client; ``Admins``: admin; ``Endorsement``: peer; node OUs required),
    its MSP definition and its anchor peers, each with ``mod_policy`` ``Admins`` (its own admins).

    Raises:
        AdminError: the MSP id or group name is already in the channel, or the request has node OUs
            off (the policies need roles).
    """
    problems = []
    for org in (*config.application_orgs, *config.orderer_orgs):
        if org.msp_id == request.msp_id:
            problems.append(f"MSP id {request.msp_id} is already used by organization {org.name}")
    application = config.channel_group.groups.get(APPLICATION)
    if application is None:
        raise AdminError(f"channel {config.channel_id} has no application group")
    if request.name in application.groups:
        problems.append(f"channel {config.channel_id} already has an organization group named {request.name}")
    if not request.node_ous:
        problems.append("the request has node OUs off: fabrx's member policies need admin/peer/client OUs")
    if problems:
        raise AdminError(f"cannot add {request.msp_id} to {config.channel_id}: " + "; ".join(problems))
    changed = config.copy()
    group = changed.channel_group.groups[APPLICATION].groups[request.name]
    group.mod_policy = ADMINS
    msp = request.msp_id
    for name, rule in (
        ("Readers", f"OR('{msp}.admin', '{msp}.peer', '{msp}.client')"),
        ("Writers", f"OR('{msp}.admin', '{msp}.client')"),
        ("Admins", f"OR('{msp}.admin')"),
        ("Endorsement", f"OR('{msp}.peer')"),
    ):
        policy = group.policies[name]
        policy.mod_policy = ADMINS
        policy.policy.type = policies_pb2.Policy.SIGNATURE
        policy.policy.value = parse_signature_policy(rule).SerializeToString()
    group.values[MSP_KEY].mod_policy = ADMINS
    group.values[MSP_KEY].value = _msp_config(request).SerializeToString()
    if request.anchor_peers:
        group.values[ANCHOR_PEERS_KEY].mod_policy = ADMINS
        group.values[ANCHOR_PEERS_KEY].value = peer_configuration_pb2.AnchorPeers(
            anchor_peers=[
                peer_configuration_pb2.AnchorPeer(host=a.host, port=a.port) for a in request.anchor_peers
            ]
        ).SerializeToString()
    return changed


def _msp_config(request: JoinRequest) -> msp_config_pb2.MSPConfig:
    fabric = msp_config_pb2.FabricMSPConfig(
        name=request.msp_id,
        root_certs=list(request.root_certs),
        intermediate_certs=list(request.intermediate_certs),
        tls_root_certs=list(request.tls_root_certs),
        tls_intermediate_certs=list(request.tls_intermediate_certs),
        crypto_config=msp_config_pb2.FabricCryptoConfig(
            signature_hash_family="SHA2", identity_identifier_hash_function="SHA256"
        ),
    )
    if request.node_ous:
        fabric.fabric_node_ous.enable = True
        for role, ou in request.node_ous.items():
            getattr(fabric.fabric_node_ous, f"{role}_ou_identifier").organizational_unit_identifier = ou
    return msp_config_pb2.MSPConfig(type=0, config=fabric.SerializeToString())


def remove_organization(config: ChannelConfig, msp_id: str) -> configtx_pb2.Config:
    """``config`` without application organization ``msp_id``.

    Its peers keep the blocks they have but receive no new ones; its identities can no longer read,
    write or endorse on the channel.

    Raises:
        AdminError: no such organization, or it is the channel's last application organization.
    """
    org = config.application_org(msp_id)
    if len(config.application_orgs) == 1:
        raise AdminError(f"{msp_id} is the last application organization of {config.channel_id}: not removed")
    changed = config.copy()
    del changed.channel_group.groups[APPLICATION].groups[org.name]
    return changed


def add_crl(
    config: ChannelConfig, msp_id: str, crl_pem: bytes, *, revoked: Sequence[int] = ()
) -> configtx_pb2.Config:
    """``config`` with ``crl_pem`` in the MSP definition of organization ``msp_id``.

    The CRL must be signed by one of the MSP's root or intermediate CA certificates; it replaces an
    older CRL of the same issuer (a CA's newer CRL lists every certificate it revoked). When
    ``revoked`` serial numbers are given, each must be listed by the CRL. Identities whose certificate
    serial the CRL lists are refused by every peer and orderer once the update is committed.

    Raises:
        AdminError: no such organization, the CRL is not PEM, not issued by the MSP's CAs, or does not
            revoke a serial of ``revoked``; or the MSP already holds exactly this CRL.
    """
    org = next((o for o in (*config.application_orgs, *config.orderer_orgs) if o.msp_id == msp_id), None)
    if org is None:
        raise AdminError(f"channel {config.channel_id} has no organization with MSP id {msp_id}")
    try:
        crl = x509.load_pem_x509_crl(crl_pem)
    except ValueError as exc:
        raise AdminError(f"not a PEM certificate revocation list: {exc}") from exc
    issuers = [
        x509.load_pem_x509_certificate(pem) for pem in (*org.msp.root_certs, *org.msp.intermediate_certs)
    ]
    issuer = next((c for c in issuers if c.subject == crl.issuer and _signed(crl, c)), None)
    if issuer is None:
        raise AdminError(f"the CRL (issuer {crl.issuer.rfc4514_string()}) is not signed by a CA of {msp_id}")
    listed = {entry.serial_number for entry in crl}
    unknown = [serial for serial in revoked if serial not in listed]
    if unknown:
        raise AdminError(
            f"the CRL of {msp_id} does not revoke serial(s) {', '.join(f'{s:x}' for s in unknown)} "
            f"(it lists {', '.join(f'{s:x}' for s in sorted(listed)) or 'none'})"
        )
    canonical = crl.public_bytes(Encoding.PEM)
    kept = []
    for pem in org.msp.revocation_list:
        try:
            existing = x509.load_pem_x509_crl(pem)
        except ValueError:
            kept.append(pem)
            continue
        if existing.public_bytes(Encoding.PEM) == canonical:
            raise AdminError(f"the MSP of {msp_id} in {config.channel_id} already holds this CRL")
        if existing.issuer != crl.issuer:
            kept.append(pem)
    changed = config.copy()
    section = APPLICATION if org in config.application_orgs else ORDERER
    value = changed.channel_group.groups[section].groups[org.name].values[MSP_KEY]
    msp = msp_config_pb2.MSPConfig.FromString(value.value)
    fabric = msp_config_pb2.FabricMSPConfig.FromString(msp.config)
    del fabric.revocation_list[:]
    fabric.revocation_list.extend([*kept, canonical])
    msp.config = fabric.SerializeToString()
    value.value = msp.SerializeToString()
    return changed


def remove_consenter(config: ChannelConfig, host: str, port: int) -> configtx_pb2.Config:
    """``config`` without the Raft consenter at ``host:port``.

    Raises:
        AdminError: the channel is not ordered by Raft, has no such consenter, or it is the last one.
    """
    if config.consensus_type != "etcdraft":
        raise AdminError(
            f"channel {config.channel_id} is ordered by {config.consensus_type or 'nothing'}: "
            "fabrx removes Raft consenters only"
        )
    consenters = config.consenters
    if not any(c.host == host and c.port == port for c in consenters):
        known = ", ".join(map(str, consenters))
        raise AdminError(f"channel {config.channel_id} has no consenter {host}:{port} (consenters: {known})")
    if len(consenters) == 1:
        raise AdminError(
            f"{host}:{port} is the last orderer of {config.channel_id}: removing it would stop the channel"
        )
    changed = config.copy()
    value = changed.channel_group.groups[ORDERER].values[CONSENSUS_TYPE_KEY]
    consensus = orderer_configuration_pb2.ConsensusType.FromString(value.value)
    metadata = etcdraft_pb2.ConfigMetadata.FromString(consensus.metadata)
    remaining = [c for c in metadata.consenters if not (c.host == host and c.port == port)]
    del metadata.consenters[:]
    metadata.consenters.extend(remaining)
    consensus.metadata = metadata.SerializeToString()
    value.value = consensus.SerializeToString()
    # Clients and peers find orderers through the orderer organizations' endpoints: drop it there too.
    address = f"{host}:{port}"
    for org in changed.channel_group.groups[ORDERER].groups.values():
        if ENDPOINTS_KEY not in org.values:
            continue
        endpoints = configuration_pb2.OrdererAddresses.FromString(org.values[ENDPOINTS_KEY].value)
        if address in endpoints.addresses:
            kept = [a for a in endpoints.addresses if a != address]
            org.values[ENDPOINTS_KEY].value = configuration_pb2.OrdererAddresses(
                addresses=kept
            ).SerializeToString()
    return changed


def _signed(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return crl.is_signature_valid(key)
    return False
