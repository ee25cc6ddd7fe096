"""Administering one peer as an organization admin: channel membership and installed chaincode.

Everything here is local to one peer and involves no ordering: joining channels (``cscc``), listing
them, reading a channel's height (``qscc``), installing chaincode packages and listing them
(``_lifecycle``). The requests are signed proposals sent straight to the peer's ``Endorser`` service,
so the signing identity must be an admin of the peer's own organization.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import grpc
from fabric_protos.common import common_pb2, ledger_pb2
from fabric_protos.peer import query_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from ..endpoint import Endpoint, new_channel
from ..hashing import Hash, sha256
from ..identity import Identity
from ..signing import Signer
from ._block import channel_id_of_block
from ._endorse import DEFAULT_TIMEOUT, PeerConnection, ProposalRejected, SigningIdentity, query
from .ccaas import ChaincodePackage, package_id

__all__ = ["ChainInfo", "InstallResult", "InstalledChaincode", "PeerAdmin", "PeerJoin"]

LIFECYCLE = "_lifecycle"


@dataclass(frozen=True)
class PeerJoin:
    """The outcome of joining a peer to a channel; ``already_joined`` when it was a member before."""

    channel_id: str
    already_joined: bool


@dataclass(frozen=True)
class ChainInfo:
    """A peer's ledger height for a channel and the hash of its last block."""

    channel_id: str
    height: int
    current_block_hash: bytes
    previous_block_hash: bytes


@dataclass(frozen=True)
class InstallResult:
    """The outcome of installing a package; ``already_installed`` when the peer had it before."""

    package_id: str
    label: str
    already_installed: bool


@dataclass(frozen=True)
class InstalledChaincode:
    """A package installed on a peer and, per channel, the (name, version) definitions using it."""

    package_id: str
    label: str
    references: Mapping[str, tuple[tuple[str, str], ...]]


class PeerAdmin:
    """An organization admin's handle on one of the organization's peers.

    The gRPC channel to the peer is opened on first use and released by :meth:`close` (or by leaving
    the ``with`` block). ``signer`` signs ``hash`` digests for ``identity``, which must be an admin of
    the peer's organization for joins, installs and approvals. ``timeout`` (seconds) bounds each
    request to the peer and, in lifecycle transactions, to the orderer.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        identity: Identity,
        signer: Signer,
        hash: Hash = sha256,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.endpoint = endpoint
        self.identity = identity
        self.timeout = timeout
        self.signing = SigningIdentity(identity=identity, signer=signer, hash=hash)
        self._channel: grpc.Channel | None = None

    @property
    def msp_id(self) -> str:
        return self.identity.msp_id

    @property
    def connection(self) -> PeerConnection:
        """The peer's gRPC channel (opened now if needed) with its address."""
        if self._channel is None:
            self._channel = new_channel(self.endpoint)
        return PeerConnection(address=self.endpoint.address, channel=self._channel)

    def close(self) -> None:
        """Close the gRPC channel to the peer, if open. The object may be used again afterwards."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def __enter__(self) -> PeerAdmin:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def join_channel(self, block: bytes) -> PeerJoin:
        """Join the peer to the channel whose genesis block is ``block`` (``cscc`` ``JoinChain``).

        Joining a channel the peer already has is not an error: the result says ``already_joined``.

        Raises:
            AdminError: the block is not a channel block, the peer is unreachable, or it refused
                (e.g. the identity is not an admin of the peer's organization).
        """
        channel_id = channel_id_of_block(block)
        try:
            self._query("", "cscc", [b"JoinChain", block], f"join channel {channel_id}", common_pb2.CONFIG)
        except ProposalRejected as exc:
            # The ledger already exists: a repeated join, e.g. a re-run of network start-up.
            if "already exists" in exc.reason:
                return PeerJoin(channel_id=channel_id, already_joined=True)
            raise
        return PeerJoin(channel_id=channel_id, already_joined=False)

    def channels(self) -> tuple[str, ...]:
        """The channels the peer has joined (``cscc`` ``GetChannels``).

        Raises:
            AdminError: the peer is unreachable or refused.
        """
        payload = self._query("", "cscc", [b"GetChannels"], "list channels")
        return tuple(c.channel_id for c in query_pb2.ChannelQueryResponse.FromString(payload).channels)

    def chain_info(self, channel_id: str) -> ChainInfo:
        """The peer's ledger height and current block hash for ``channel_id`` (``qscc`` ``GetChainInfo``).

        Raises:
            AdminError: the peer is unreachable, has not joined the channel, or refused.
        """
        payload = self._query(
            "", "qscc", [b"GetChainInfo", channel_id.encode()], f"chain info of {channel_id}"
        )
        info = ledger_pb2.BlockchainInfo.FromString(payload)
        return ChainInfo(
            channel_id=channel_id,
            height=info.height,
            current_block_hash=bytes(info.currentBlockHash),
            previous_block_hash=bytes(info.previousBlockHash),
        )

    def install(self, package: bytes | ChaincodePackage) -> InstallResult:
        """Install a chaincode package on the peer (``_lifecycle`` ``InstallChaincode``).

        Installing a package the peer already has is not an error: the result says
        ``already_installed``. The peer runs its external builders' ``detect``/``build`` during install.

        Raises:
            AdminError: the bytes are not a chaincode package, no builder accepts it, the peer is
                unreachable, or it refused.
        """
        data = package.data if isinstance(package, ChaincodePackage) else package
        expected_id = package_id(data)
        args = lifecycle_pb2.InstallChaincodeArgs(chaincode_install_package=data).SerializeToString()
        try:
            payload = self._query("", LIFECYCLE, [b"InstallChaincode", args], f"install {expected_id}")
        except ProposalRejected as exc:
            if "already successfully installed" in exc.reason:
                label = expected_id.rpartition(":")[0]
                return InstallResult(package_id=expected_id, label=label, already_installed=True)
            raise
        result = lifecycle_pb2.InstallChaincodeResult.FromString(payload)
        return InstallResult(package_id=result.package_id, label=result.label, already_installed=False)

    def query_installed(self) -> tuple[InstalledChaincode, ...]:
        """The packages installed on the peer (``_lifecycle`` ``QueryInstalledChaincodes``).

        Raises:
            AdminError: the peer is unreachable or refused.
        """
        args = lifecycle_pb2.QueryInstalledChaincodesArgs().SerializeToString()
        payload = self._query("", LIFECYCLE, [b"QueryInstalledChaincodes", args], "query installed chaincode")
        result = lifecycle_pb2.QueryInstalledChaincodesResult.FromString(payload)
        return tuple(
            InstalledChaincode(
                package_id=installed.package_id,
                label=installed.label,
                references={
                    channel: tuple((cc.name, cc.version) for cc in refs.chaincodes)
                    for channel, refs in sorted(installed.references.items())
                },
            )
            for installed in result.installed_chaincodes
        )

    def _query(
        self,
        channel_id: str,
        chaincode_name: str,
        args: list[bytes],
        action: str,
        header_type: int = common_pb2.ENDORSER_TRANSACTION,
    ) -> bytes:
        return query(
            self.connection,
            self.signing,
            channel_id,
            chaincode_name,
            args,
            action,
            header_type=header_type,
            timeout=self.timeout,
        )
