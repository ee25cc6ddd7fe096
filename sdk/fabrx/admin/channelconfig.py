"""A channel's configuration as a typed object: read it, look inside it, copy it to change it.

A channel's configuration is the ``common.Config`` of its latest config block: a tree of groups
(``Channel`` → ``Application`` / ``Orderer`` → one group per organization), each holding values
(an organization's ``MSP``, its ``AnchorPeers``, the orderer's ``ConsensusType``...) and policies, every
element with a version and a ``mod_policy``. :class:`ChannelConfig` wraps it with read-only views of
what an operator asks about (organizations, MSP definitions, anchor peers, consenters) and
:meth:`ChannelConfig.copy` hands out a mutable copy to edit (see :mod:`fabrx.admin.configedit`).

Reading: :func:`read_channel_config` asks a peer (``cscc GetChannelConfig``, allowed to channel
readers); :func:`config_from_block` reads it from a config block file (as ``peer channel fetch config``
or the orderer's Deliver service hand it out).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from fabric_protos.common import common_pb2, configtx_pb2, configuration_pb2
from fabric_protos.msp import msp_config_pb2
from fabric_protos.orderer import configuration_pb2 as orderer_configuration_pb2
from fabric_protos.orderer.etcdraft import configuration_pb2 as etcdraft_pb2
from fabric_protos.peer import configuration_pb2 as peer_configuration_pb2
from google.protobuf.message import DecodeError

from ..errors import AdminError
from ._endorse import query
from .peer import PeerAdmin

__all__ = [
    "APPLICATION",
    "ORDERER",
    "AnchorPeer",
    "ChannelConfig",
    "Consenter",
    "MspDefinition",
    "OrganizationConfig",
    "config_from_block",
    "read_channel_config",
]

APPLICATION = "Application"
ORDERER = "Orderer"
MSP_KEY = "MSP"
ANCHOR_PEERS_KEY = "AnchorPeers"
CONSENSUS_TYPE_KEY = "ConsensusType"
ORDERERS_KEY = "Orderers"
ENDPOINTS_KEY = "Endpoints"


@dataclass(frozen=True)
class AnchorPeer:
    """A peer that other organizations' peers contact first for gossip: ``host:port``."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> AnchorPeer:
        """``host:port`` → an anchor peer.

        Raises:
            AdminError: the text is not ``host:port`` with a port in 1..65535.
        """
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise AdminError(f"an anchor peer is host:port with a port in 1..65535, not {text!r}")
        return cls(host=host.strip("[]"), port=int(port))


@dataclass(frozen=True)
class MspDefinition:
    """An organization's MSP as the channel defines it: the certificates its identities chain to.

    ``root_certs`` / ``tls_root_certs`` (and the intermediates) are PEM certificates;
    ``revocation_list`` the PEM CRLs; ``node_ous`` whether identities are classified by their OU
    (``admin``, ``peer``, ``client``, ``orderer``, named in ``ou_identifiers``).
    """

    msp_id: str
    root_certs: tuple[bytes, ...]
    intermediate_certs: tuple[bytes, ...]
    tls_root_certs: tuple[bytes, ...]
    tls_intermediate_certs: tuple[bytes, ...]
    admins: tuple[bytes, ...]
    revocation_list: tuple[bytes, ...]
    node_ous: bool
    ou_identifiers: dict[str, str]

    @classmethod
    def from_proto(cls, msp: msp_config_pb2.MSPConfig) -> MspDefinition:
        fabric = msp_config_pb2.FabricMSPConfig.FromString(msp.config)
        ous = fabric.fabric_node_ous
        identifiers = {
            role: getattr(ous, f"{role}_ou_identifier").organizational_unit_identifier
            for role in ("admin", "peer", "client", "orderer")
            if ous.HasField(f"{role}_ou_identifier")  # type: ignore[arg-type]
        }
        return cls(
            msp_id=fabric.name,
            root_certs=tuple(fabric.root_certs),
            intermediate_certs=tuple(fabric.intermediate_certs),
            tls_root_certs=tuple(fabric.tls_root_certs),
            tls_intermediate_certs=tuple(fabric.tls_intermediate_certs),
            admins=tuple(fabric.admins),
            revocation_list=tuple(fabric.revocation_list),
            node_ous=ous.enable,
            ou_identifiers=identifiers,
        )

    def revoked_serials(self) -> frozenset[int]:
        """The serial numbers revoked by the MSP's CRLs."""
        serials: set[int] = set()
        for pem in self.revocation_list:
            try:
                crl = x509.load_pem_x509_crl(pem)
            except ValueError:
                continue
            serials.update(entry.serial_number for entry in crl)
        return frozenset(serials)


@dataclass(frozen=True)
class OrganizationConfig:
    """One organization of the channel: its group name (``name``), MSP and anchor peers.

    ``endpoints`` are an orderer organization's orderer endpoints (``host:port``, where peers and
    clients send transactions and fetch blocks); empty for an application organization.
    """

    name: str
    msp: MspDefinition
    anchor_peers: tuple[AnchorPeer, ...]
    endpoints: tuple[str, ...] = ()

    @property
    def msp_id(self) -> str:
        return self.msp.msp_id


@dataclass(frozen=True)
class Consenter:
    """A consenter of the ordering service: ``host:port`` and its TLS certificates in PEM.

    A Raft (``etcdraft``) consenter is known by its TLS certificates alone. A BFT consenter also
    carries its numeric ``id`` (unique in the channel, never reused), the MSP id of its organization
    and its enrollment certificate (``identity``, PEM), with which it signs blocks; for Raft these
    stay ``0``/empty.
    """

    host: str
    port: int
    client_tls_cert: bytes
    server_tls_cert: bytes
    msp_id: str = ""
    identity: bytes = b""
    id: int = 0

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class ChannelConfig:
    """The configuration of one channel (a ``common.Config``) with typed read-only views.

    ``config`` is kept private: :meth:`copy` returns a fresh mutable ``common.Config`` to change, so a
    :class:`ChannelConfig` always shows what the channel holds.
    """

    def __init__(self, channel_id: str, config: configtx_pb2.Config) -> None:
        if not config.HasField("channel_group"):
            raise AdminError(f"the configuration of channel {channel_id} has no channel group")
        self.channel_id = channel_id
        self._config = configtx_pb2.Config()
        self._config.CopyFrom(config)

    def __repr__(self) -> str:
        return f"ChannelConfig({self.channel_id!r}, sequence={self.sequence})"

    @property
    def sequence(self) -> int:
        """How many configuration updates the channel has had (0 for the genesis configuration)."""
        return int(self._config.sequence)

    @property
    def channel_group(self) -> configtx_pb2.ConfigGroup:
        """A copy of the root (``Channel``) group."""
        group = configtx_pb2.ConfigGroup()
        group.CopyFrom(self._config.channel_group)
        return group

    def copy(self) -> configtx_pb2.Config:
        """A mutable copy of the whole configuration, to change and hand to :func:`compute_update`."""
        config = configtx_pb2.Config()
        config.CopyFrom(self._config)
        return config

    def serialize(self) -> bytes:
        """The ``common.Config`` bytes (what ``configtxlator`` calls the original config)."""
        return self._config.SerializeToString()

    @property
    def application_orgs(self) -> tuple[OrganizationConfig, ...]:
        """The application organizations, sorted by group name."""
        return _organizations(self._config.channel_group, APPLICATION)

    @property
    def orderer_orgs(self) -> tuple[OrganizationConfig, ...]:
        """The orderer organizations, sorted by group name."""
        return _organizations(self._config.channel_group, ORDERER)

    def application_org(self, msp_id: str) -> OrganizationConfig:
        """The application organization whose MSP id is ``msp_id``.

        Raises:
            AdminError: no application organization of the channel has that MSP id.
        """
        for org in self.application_orgs:
            if org.msp_id == msp_id:
                return org
        known = ", ".join(o.msp_id for o in self.application_orgs) or "none"
        raise AdminError(
            f"channel {self.channel_id} has no application organization with MSP id {msp_id} "
            f"(its organizations: {known})"
        )

    def orderer_org(self, msp_id: str) -> OrganizationConfig:
        """The orderer organization whose MSP id is ``msp_id``.

        Raises:
            AdminError: no orderer organization of the channel has that MSP id.
        """
        for org in self.orderer_orgs:
            if org.msp_id == msp_id:
                return org
        known = ", ".join(o.msp_id for o in self.orderer_orgs) or "none"
        raise AdminError(
            f"channel {self.channel_id} has no orderer organization with MSP id {msp_id} "
            f"(its orderer organizations: {known})"
        )

    def msp(self, msp_id: str) -> MspDefinition | None:
        """The MSP definition of ``msp_id`` anywhere in the channel (application or orderer), if any."""
        for org in (*self.application_orgs, *self.orderer_orgs):
            if org.msp_id == msp_id:
                return org.msp
        return None

    @property
    def consensus_type(self) -> str:
        """``etcdraft`` or ``BFT`` (``""`` if the channel has no orderer group)."""
        orderer = self._config.channel_group.groups.get(ORDERER)
        if orderer is None or CONSENSUS_TYPE_KEY not in orderer.values:
            return ""
        return orderer_configuration_pb2.ConsensusType.FromString(
            orderer.values[CONSENSUS_TYPE_KEY].value
        ).type

    @property
    def consenters(self) -> tuple[Consenter, ...]:
        """The Raft consenters (``etcdraft``) or the BFT consenters of the channel, in their order."""
        orderer = self._config.channel_group.groups.get(ORDERER)
        if orderer is None:
            return ()
        if self.consensus_type == "etcdraft":
            consensus = orderer_configuration_pb2.ConsensusType.FromString(
                orderer.values[CONSENSUS_TYPE_KEY].value
            )
            metadata = etcdraft_pb2.ConfigMetadata.FromString(consensus.metadata)
            return tuple(
                Consenter(c.host, c.port, bytes(c.client_tls_cert), bytes(c.server_tls_cert))
                for c in metadata.consenters
            )
        if ORDERERS_KEY in orderer.values:
            orderers = configuration_pb2.Orderers.FromString(orderer.values[ORDERERS_KEY].value)
            return tuple(
                Consenter(
                    c.host,
                    c.port,
                    bytes(c.client_tls_cert),
                    bytes(c.server_tls_cert),
                    msp_id=c.msp_id,
                    identity=bytes(c.identity),
                    id=c.id,
                )
                for c in orderers.consenter_mapping
            )
        return ()


def _organizations(channel_group: configtx_pb2.ConfigGroup, section: str) -> tuple[OrganizationConfig, ...]:
    group = channel_group.groups.get(section)
    if group is None:
        return ()
    orgs = []
    for name, org in sorted(group.groups.items()):
        if MSP_KEY not in org.values:
            continue
        msp = MspDefinition.from_proto(msp_config_pb2.MSPConfig.FromString(org.values[MSP_KEY].value))
        anchors: tuple[AnchorPeer, ...] = ()
        if ANCHOR_PEERS_KEY in org.values:
            value = peer_configuration_pb2.AnchorPeers.FromString(org.values[ANCHOR_PEERS_KEY].value)
            anchors = tuple(AnchorPeer(a.host, a.port) for a in value.anchor_peers)
        endpoints: tuple[str, ...] = ()
        if ENDPOINTS_KEY in org.values:
            endpoints = tuple(
                configuration_pb2.OrdererAddresses.FromString(org.values[ENDPOINTS_KEY].value).addresses
            )
        orgs.append(OrganizationConfig(name=name, msp=msp, anchor_peers=anchors, endpoints=endpoints))
    return tuple(orgs)


def read_channel_config(peer: PeerAdmin, channel_id: str) -> ChannelConfig:
    """The channel's current configuration as ``peer`` has it (``cscc GetChannelConfig``).

    The peer's organization must be a reader of the channel; a peer answers from its own ledger, so
    right after an update it may still show the previous configuration for a moment.

    Raises:
        AdminError: the peer is unreachable, has not joined the channel, or refused.
    """
    payload = query(
        peer.connection,
        peer.signing,
        "",
        "cscc",
        [b"GetChannelConfig", channel_id.encode()],
        f"read the configuration of {channel_id}",
        timeout=peer.timeout,
    )
    try:
        config = configtx_pb2.Config.FromString(payload)
    except DecodeError as exc:
        raise AdminError(f"peer {peer.endpoint.address} answered with no channel configuration") from exc
    return ChannelConfig(channel_id, config)


def config_from_block(block: bytes) -> ChannelConfig:
    """The configuration carried by a config block (a genesis block or a later config block).

    Raises:
        AdminError: the bytes are not a Fabric block whose transaction is a configuration.
    """
    try:
        parsed = common_pb2.Block.FromString(block)
        if not parsed.data.data:
            raise AdminError("the block holds no transaction: pass a config block")
        envelope = common_pb2.Envelope.FromString(parsed.data.data[0])
        payload = common_pb2.Payload.FromString(envelope.payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        if header.type != common_pb2.CONFIG:
            raise AdminError(
                f"block {parsed.header.number} of channel {header.channel_id} is not a config block"
            )
        config_envelope = configtx_pb2.ConfigEnvelope.FromString(payload.data)
    except DecodeError as exc:
        raise AdminError(f"not a Fabric config block: {exc}") from exc
    return ChannelConfig(header.channel_id, config_envelope.config)
