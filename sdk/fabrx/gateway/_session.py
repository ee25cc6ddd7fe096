"""What every object of one sync Gateway shares: transport, signing identity and deadlines."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._client import GatewayClient
from ._endorsers import EndorserCache
from ._options import Reconnect, Timeouts
from ._signing import SigningIdentity


@dataclass(frozen=True, slots=True)
class Session:
    client: GatewayClient
    signing: SigningIdentity
    timeouts: Timeouts
    reconnect: Reconnect | None
    tls_cert_hash: bytes
    # Chaincode definitions read to choose endorsers for private data (see _endorsers).
    endorsers: EndorserCache = field(default_factory=EndorserCache)
