"""What every object of one asyncio Gateway shares: transport, signing identity and deadlines."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..gateway._endorsers import EndorserCache
from ..gateway._options import Reconnect, Timeouts
from ..gateway._signing import SigningIdentity
from ._client import AioGatewayClient


@dataclass(frozen=True, slots=True)
class Session:
    client: AioGatewayClient
    signing: SigningIdentity
    timeouts: Timeouts
    reconnect: Reconnect | None
    tls_cert_hash: bytes
    # Chaincode definitions read to choose endorsers for private data (see _endorsers).
    endorsers: EndorserCache = field(default_factory=EndorserCache)
