"""Fabric's discovery service: which peers of a channel a peer knows, with their height and chaincodes.

A peer learns about the other peers of a channel through gossip; until gossip has converged, the
Gateway cannot pick endorsers from other organizations ("no combination of peers can be derived").
:func:`channel_peers` asks one peer for its current view, which is what fabrx's network tooling polls
before declaring a consortium ready, and what a client can use to see who can endorse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import grpc
from fabric_protos.discovery import protocol_pb2, protocol_pb2_grpc
from fabric_protos.gossip import message_pb2

from ._rpc_errors import translate
from .endpoint import Endpoint, new_channel
from .errors import GatewayError
from .hashing import Hash, sha256
from .identity import Identity
from .signing import Signer

__all__ = ["DiscoveredPeer", "channel_peers"]


@dataclass(frozen=True)
class DiscoveredPeer:
    """A peer as another peer's gossip sees it: endpoint, organization, ledger height, chaincodes."""

    endpoint: str
    msp_id: str
    ledger_height: int
    chaincodes: tuple[str, ...]


def channel_peers(
    endpoint: Endpoint,
    channel_id: str,
    identity: Identity,
    signer: Signer,
    *,
    hash: Hash = sha256,
    timeout: float = 5.0,
) -> tuple[DiscoveredPeer, ...]:
    """The peers of ``channel_id`` known to the peer at ``endpoint`` (itself included).

    Raises:
        GatewayError: the peer refused the query or answered with an error.
    """
    tls_hash = b""
    if endpoint.client_cert:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        der = x509.load_pem_x509_certificate(endpoint.client_cert).public_bytes(Encoding.DER)
        tls_hash = hashlib.sha256(der).digest()
    request = protocol_pb2.Request(
        authentication=protocol_pb2.AuthInfo(
            client_identity=identity.serialize(), client_tls_cert_hash=tls_hash
        ),
        queries=[protocol_pb2.Query(channel=channel_id, peer_query=protocol_pb2.PeerMembershipQuery())],
    )
    payload = request.SerializeToString()
    signed = protocol_pb2.SignedRequest(payload=payload, signature=signer(hash(payload)))
    channel = new_channel(endpoint)
    try:
        response = protocol_pb2_grpc.DiscoveryStub(channel).Discover(signed, timeout=timeout)
    except grpc.RpcError as exc:
        raise translate(exc, GatewayError, f"discovery on {endpoint.address}") from exc
    finally:
        channel.close()
    result = response.results[0]
    if result.HasField("error"):
        raise GatewayError(f"discovery on {endpoint.address} failed: {result.error.content}")
    peers: list[DiscoveredPeer] = []
    for msp_id, group in result.members.peers_by_org.items():
        for peer in group.peers:
            alive = message_pb2.GossipMessage.FromString(peer.membership_info.payload)
            state = message_pb2.GossipMessage.FromString(peer.state_info.payload)
            properties = state.state_info.properties
            peers.append(
                DiscoveredPeer(
                    endpoint=alive.alive_msg.membership.endpoint,
                    msp_id=msp_id,
                    ledger_height=properties.ledger_height,
                    chaincodes=tuple(sorted(c.name for c in properties.chaincodes)),
                )
            )
    return tuple(sorted(peers, key=lambda p: (p.msp_id, p.endpoint)))
