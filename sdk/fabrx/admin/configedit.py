"""The configuration changes an operator makes, each a pure function: current config → changed copy.

Each function checks its input against the current configuration and raises :class:`AdminError`
naming what is wrong, before anything is computed; hand the result to
:func:`~fabrx.admin.new_channel_update` to get the update to sign.

* :func:`set_anchor_peers`: replace an organization's anchor peers (its own ``Admins`` policy).
* :func:`add_organization`: a new application organization from a :class:`JoinRequest`
  (``/Channel/Application/Admins``, usually ``MAJORITY Admins``).
* :func:`remove_organization`: drop an application organization (the same policy).

Both keep a channel's application ``Readers`` and ``Writers`` the union of the members' own when they
are signature policies (as fabrx creates channels): see :func:`member_union`.
* :func:`add_crl`: put a CRL issued by an organization's CA into its MSP definition (its ``Admins``).
* :func:`add_consenter`: a new Raft or BFT consenter of an orderer organization
  (``/Channel/Orderer/Admins``).
* :func:`remove_consenter`: drop a Raft or BFT consenter and its orderer endpoint (the same policies);
  never the last one.

  On a BFT channel both also rewrite the orderer ``BlockValidation`` policy, which must be exactly the
  one Fabric derives from the consenters (see :func:`bft_block_validation_policy`).
* :func:`set_orderer_endpoints`: replace an orderer organization's orderer endpoints, where peers and
  clients reach the ordering service (its own ``Admins``).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from fabric_protos.common import configtx_pb2, configuration_pb2, policies_pb2
from fabric_protos.msp import identities_pb2, msp_config_pb2, msp_principal_pb2
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
    ORDERERS_KEY,
    AnchorPeer,
    ChannelConfig,
)
from .joinrequest import JoinRequest
from .policy import parse_signature_policy

BLOCK_VALIDATION_KEY = "BlockValidation"

__all__ = [
    "add_consenter",
    "add_crl",
    "add_organization",
    "bft_block_validation_policy",
    "member_union",
    "remove_consenter",
    "remove_organization",
    "set_anchor_peers",
    "set_orderer_endpoints",
]

ADMINS = "Admins"
MEMBER_ACCESS_POLICIES = ("Readers", "Writers")
"""The application policies fabrx keeps as the union of the members' own (see :func:`member_union`)."""


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
    _keep_member_unions(changed, config.channel_id)
    return changed


def member_union(application: configtx_pb2.ConfigGroup, name: str) -> policies_pb2.SignaturePolicyEnvelope:
    """One signature policy satisfied by exactly what satisfies policy ``name`` of any organization of
    the ``application`` group: the members' rules side by side under a 1-out-of gate.

    It replaces Fabric's ``ANY <name>`` (an ImplicitMeta policy) where a channel is evaluated often:
    Fabric evaluates an ImplicitMeta policy by evaluating each member's policy in turn, and each
    evaluation verifies the signature again, so with fifty members a gossip message or a proposal costs
    some twenty-five signature verifications instead of one.

    Raises:
        AdminError: an organization lacks the policy or has one that is not a signature policy.
    """
    identities: list[msp_principal_pb2.MSPPrincipal] = []
    rules: list[policies_pb2.SignaturePolicy] = []
    for group_name in sorted(application.groups):
        policies = application.groups[group_name].policies
        if name not in policies or policies[name].policy.type != policies_pb2.Policy.SIGNATURE:
            raise AdminError(
                f"organization {group_name} has no {name} signature policy: the channel's {name} cannot "
                "be kept the union of its members' (edit it by hand)"
            )
        envelope = policies_pb2.SignaturePolicyEnvelope.FromString(policies[name].policy.value)
        rule = _shifted(envelope.rule, len(identities))
        identities.extend(envelope.identities)
        if rule.WhichOneof("Type") == "n_out_of" and rule.n_out_of.n == 1:
            rules.extend(rule.n_out_of.rules)  # an OR inside an OR: the same policy, one gate less
        else:
            rules.append(rule)
    return policies_pb2.SignaturePolicyEnvelope(
        version=0,
        rule=policies_pb2.SignaturePolicy(n_out_of=policies_pb2.SignaturePolicy.NOutOf(n=1, rules=rules)),
        identities=identities,
    )


def _shifted(rule: policies_pb2.SignaturePolicy, offset: int) -> policies_pb2.SignaturePolicy:
    if rule.WhichOneof("Type") == "signed_by":
        return policies_pb2.SignaturePolicy(signed_by=rule.signed_by + offset)
    return policies_pb2.SignaturePolicy(
        n_out_of=policies_pb2.SignaturePolicy.NOutOf(
            n=rule.n_out_of.n, rules=[_shifted(r, offset) for r in rule.n_out_of.rules]
        )
    )


def _keep_member_unions(changed: configtx_pb2.Config, channel_id: str) -> None:
    """Recompute the application ``Readers``/``Writers`` that are signature policies (a channel fabrx
    created) as the union of the members' after a membership change; ImplicitMeta ones stay as they are."""
    application = changed.channel_group.groups[APPLICATION]
    for name in MEMBER_ACCESS_POLICIES:
        if name not in application.policies:
            continue
        entry = application.policies[name]
        if entry.policy.type != policies_pb2.Policy.SIGNATURE:
            continue
        try:
            entry.policy.value = member_union(application, name).SerializeToString()
        except AdminError as exc:
            raise AdminError(f"channel {channel_id}: {exc}") from None


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
    _keep_member_unions(changed, config.channel_id)
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


def add_consenter(
    config: ChannelConfig,
    msp_id: str,
    host: str,
    port: int,
    tls_cert: bytes,
    *,
    identity: bytes | None = None,
) -> configtx_pb2.Config:
    """``config`` with a new consenter at ``host:port`` of orderer organization ``msp_id``.

    ``tls_cert`` (PEM) is the new orderer's TLS certificate, used as both its client and server
    certificate; it must be issued by a TLS CA of the organization's MSP, because the other
    consenters authenticate cluster traffic with it. A BFT channel also needs the orderer's
    enrollment certificate ``identity`` (PEM, issued by the organization's CA), with which it signs
    blocks; the consenter gets the next unused id. Raft accepts one consenter change per update, so
    add consenters one by one, each after the previous one has caught up.

    The order in which the channel keeps ordering throughout: join the new orderer to the channel
    with the latest config block first (it follows the channel and replicates its blocks), then
    submit this update; the orderer notices that it is a consenter and, after a moment of switching,
    takes part. The orderer endpoints (where peers and gateways send transactions) are deliberately
    left alone: advertise the new orderer with :func:`set_orderer_endpoints` once it is an active
    consenter, since a gateway does not retry a transaction the orderer refuses while switching.

    Raises:
        AdminError: the channel is neither Raft nor BFT ordered, has no such orderer organization, the
            address or the TLS certificate is already a consenter's, a certificate is not PEM or not
            issued by the organization's CAs, or a BFT consenter comes without its identity.
    """
    consensus_type = config.consensus_type
    if consensus_type not in ("etcdraft", "BFT"):
        raise AdminError(
            f"channel {config.channel_id} is ordered by {consensus_type or 'nothing'}: "
            "fabrx changes Raft and BFT consenters only"
        )
    org = config.orderer_org(msp_id)
    what = f"cannot add consenter {host}:{port} to {config.channel_id}"
    problems = []
    if not host or not 0 < port < 65536:
        problems.append(f"{host}:{port} is not host:port with a port in 1..65535")
    consenters = config.consenters
    if any(c.host == host and c.port == port for c in consenters):
        problems.append(f"{host}:{port} is already a consenter")
    tls = _certificate(tls_cert, "the TLS certificate", problems)
    if tls is not None:
        canonical = tls.public_bytes(Encoding.PEM)
        for existing in consenters:
            if _same_certificate(existing.server_tls_cert, canonical):
                problems.append(f"the TLS certificate is already that of consenter {existing}")
        if not _issued_by(tls, (*org.msp.tls_root_certs, *org.msp.tls_intermediate_certs)):
            problems.append(f"the TLS certificate is not issued by a TLS CA of {msp_id}")
    enrollment = None
    if consensus_type == "BFT":
        if identity is None:
            problems.append("a BFT consenter needs the orderer's enrollment certificate (identity)")
        else:
            enrollment = _certificate(identity, "the identity", problems)
            if enrollment is not None and not _issued_by(
                enrollment, (*org.msp.root_certs, *org.msp.intermediate_certs)
            ):
                problems.append(f"the identity is not issued by a CA of {msp_id}")
    if problems:
        raise AdminError(f"{what}: " + "; ".join(problems))
    assert tls is not None
    tls_pem = tls.public_bytes(Encoding.PEM)
    changed = config.copy()
    orderer = changed.channel_group.groups[ORDERER]
    if consensus_type == "etcdraft":
        value = orderer.values[CONSENSUS_TYPE_KEY]
        consensus = orderer_configuration_pb2.ConsensusType.FromString(value.value)
        metadata = etcdraft_pb2.ConfigMetadata.FromString(consensus.metadata)
        metadata.consenters.append(
            etcdraft_pb2.Consenter(host=host, port=port, client_tls_cert=tls_pem, server_tls_cert=tls_pem)
        )
        consensus.metadata = metadata.SerializeToString()
        value.value = consensus.SerializeToString()
    else:
        assert enrollment is not None
        value = orderer.values[ORDERERS_KEY]
        orderers = configuration_pb2.Orderers.FromString(value.value)
        orderers.consenter_mapping.append(
            configuration_pb2.Consenter(
                id=max((c.id for c in orderers.consenter_mapping), default=0) + 1,
                host=host,
                port=port,
                msp_id=msp_id,
                identity=enrollment.public_bytes(Encoding.PEM),
                client_tls_cert=tls_pem,
                server_tls_cert=tls_pem,
            )
        )
        value.value = orderers.SerializeToString()
        _set_block_validation(orderer, orderers)
    return changed


def remove_consenter(config: ChannelConfig, host: str, port: int) -> configtx_pb2.Config:
    """``config`` without the Raft or BFT consenter at ``host:port``, and without its orderer endpoint.

    Withdraw the endpoint first (:func:`set_orderer_endpoints`, then wait until every peer has that
    block), so that no gateway sends a transaction to an orderer that is leaving; remove the channel
    from the orderer (its channel participation API) only after this update is committed.

    Raises:
        AdminError: the channel is neither Raft nor BFT ordered, has no such consenter, or it is the
            last one.
    """
    consensus_type = config.consensus_type
    if consensus_type not in ("etcdraft", "BFT"):
        raise AdminError(
            f"channel {config.channel_id} is ordered by {consensus_type or 'nothing'}: "
            "fabrx removes Raft and BFT consenters only"
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
    orderer = changed.channel_group.groups[ORDERER]
    if consensus_type == "etcdraft":
        value = orderer.values[CONSENSUS_TYPE_KEY]
        consensus = orderer_configuration_pb2.ConsensusType.FromString(value.value)
        metadata = etcdraft_pb2.ConfigMetadata.FromString(consensus.metadata)
        remaining = [c for c in metadata.consenters if not (c.host == host and c.port == port)]
        del metadata.consenters[:]
        metadata.consenters.extend(remaining)
        consensus.metadata = metadata.SerializeToString()
        value.value = consensus.SerializeToString()
    else:
        value = orderer.values[ORDERERS_KEY]
        orderers = configuration_pb2.Orderers.FromString(value.value)
        kept = [c for c in orderers.consenter_mapping if not (c.host == host and c.port == port)]
        del orderers.consenter_mapping[:]
        orderers.consenter_mapping.extend(kept)
        value.value = orderers.SerializeToString()
        _set_block_validation(orderer, orderers)
    # Clients and peers find orderers through the orderer organizations' endpoints: drop it there too.
    address = f"{host}:{port}"
    for org in config.orderer_orgs:
        if address in org.endpoints:
            _write_endpoints(orderer.groups[org.name], [a for a in org.endpoints if a != address])
    return changed


def bft_block_validation_policy(consenters: Sequence[configuration_pb2.Consenter]) -> policies_pb2.Policy:
    """The ``/Channel/Orderer/BlockValidation`` policy of a BFT channel with ``consenters``, in order.

    A block is valid with the signatures of a BFT quorum of the consenters: ``ceil((n + f + 1) / 2)``
    of the ``n`` consenters' enrollment certificates, where ``f = (n - 1) // 3`` faults are
    tolerated. A BFT orderer refuses a configuration whose policy is not exactly this one, so every
    consenter change rewrites it (``configtxgen`` computes the same for a genesis block).
    """
    n = len(consenters)
    faults = (n - 1) // 3
    quorum = -(-(n + faults + 1) // 2)
    envelope = policies_pb2.SignaturePolicyEnvelope(
        rule=policies_pb2.SignaturePolicy(
            n_out_of=policies_pb2.SignaturePolicy.NOutOf(
                n=quorum, rules=[policies_pb2.SignaturePolicy(signed_by=i) for i in range(n)]
            )
        ),
        identities=[
            msp_principal_pb2.MSPPrincipal(
                principal_classification=msp_principal_pb2.MSPPrincipal.IDENTITY,
                principal=identities_pb2.SerializedIdentity(
                    mspid=c.msp_id, id_bytes=c.identity
                ).SerializeToString(),
            )
            for c in consenters
        ],
    )
    return policies_pb2.Policy(type=policies_pb2.Policy.SIGNATURE, value=envelope.SerializeToString())


def _set_block_validation(orderer: configtx_pb2.ConfigGroup, orderers: configuration_pb2.Orderers) -> None:
    """Rewrite the BFT ``BlockValidation`` policy of the orderer group for its new consenters; its
    ``mod_policy`` stays."""
    orderer.policies[BLOCK_VALIDATION_KEY].policy.CopyFrom(
        bft_block_validation_policy(orderers.consenter_mapping)
    )


def set_orderer_endpoints(
    config: ChannelConfig, msp_id: str, endpoints: Sequence[str]
) -> configtx_pb2.Config:
    """``config`` with the orderer endpoints of orderer organization ``msp_id`` replaced by ``endpoints``.

    Peers and clients (the gateway, ``fetch_block``) reach the ordering service at these addresses;
    moving an orderer to a new address is: start it there, then set the endpoints. The consenters'
    own addresses (cluster traffic) are not changed.

    Raises:
        AdminError: no such orderer organization, an endpoint is not ``host:port``, appears twice, the
            list is empty, or the endpoints are already exactly these.
    """
    org = config.orderer_org(msp_id)
    problems = []
    for endpoint in endpoints:
        try:
            AnchorPeer.parse(endpoint)
        except AdminError:
            problems.append(f"{endpoint!r} is not host:port with a port in 1..65535")
    duplicates = sorted({e for e in endpoints if list(endpoints).count(e) > 1})
    if duplicates:
        problems.append(f"{', '.join(duplicates)} given more than once")
    if not endpoints:
        problems.append("no endpoint given: peers and clients would find no orderer of the organization")
    if problems:
        raise AdminError(f"cannot set the orderer endpoints of {msp_id}: " + "; ".join(problems))
    if tuple(endpoints) == org.endpoints:
        raise AdminError(
            f"the orderer endpoints of {msp_id} in {config.channel_id} are already {', '.join(endpoints)}"
        )
    changed = config.copy()
    _write_endpoints(changed.channel_group.groups[ORDERER].groups[org.name], endpoints)
    return changed


def _write_endpoints(org_group: configtx_pb2.ConfigGroup, addresses: Sequence[str]) -> None:
    entry = org_group.values[ENDPOINTS_KEY]
    entry.value = configuration_pb2.OrdererAddresses(addresses=list(addresses)).SerializeToString()
    entry.mod_policy = entry.mod_policy or ADMINS


def _certificate(pem: bytes, what: str, problems: list[str]) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        problems.append(f"{what} is not a PEM certificate")
        return None


def _same_certificate(pem: bytes, canonical: bytes) -> bool:
    try:
        return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.PEM) == canonical
    except ValueError:
        return False


def _issued_by(cert: x509.Certificate, issuers: Sequence[bytes]) -> bool:
    for pem in issuers:
        try:
            cert.verify_directly_issued_by(x509.load_pem_x509_certificate(pem))
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def _signed(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return crl.is_signature_valid(key)
    return False
