"""Connection profiles: what an application needs to reach an organization's peers and CA, per organization.

``network up`` writes one per organization into the run directory (``profiles/<org>.json``) in the common
connection-profile JSON format of the Node SDK (``fabric-network``'s ``Gateway.connect``) and of Fabric's
samples: ``name``, ``version``, ``client.organization``, ``organizations`` (MSP id, peers, CA),
``peers`` (``grpcs://`` URL, TLS CA PEM, ``ssl-target-name-override``) and ``certificateAuthorities``.
``fabrx.connect_profile`` reads the same files. They hold certificates only, no keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .config import Consortium, Organization
from .errors import NetworkError
from .layout import RunLayout, ca_node, peer_node

__all__ = ["connection_profile", "write_connection_profiles"]

PROFILE_VERSION = "1.0.0"


def connection_profile(consortium: Consortium, layout: RunLayout, org: Organization) -> dict[str, Any]:
    """The connection profile of ``org``: its peers (gateway first) and its CA, TLS roots inline.

    Raises:
        NetworkError: the organization's CA certificate is missing (the network was never up here).
    """
    ca_cert = layout.ca_cert(org.name)
    try:
        tls_root = ca_cert.read_text(encoding="ascii")
    except OSError as exc:
        raise NetworkError(
            f"no CA certificate of {org.name} in {layout.root}: is the network up? ({exc.strerror})"
        ) from exc
    peers = {
        peer_node(org.name, peer.name): {
            "url": f"grpcs://{consortium.host}:{peer.port}",
            "tlsCACerts": {"pem": tls_root},
            # The TLS certificate names the node (and localhost and the consortium's host).
            "grpcOptions": {
                "ssl-target-name-override": peer_node(org.name, peer.name),
                "hostnameOverride": peer_node(org.name, peer.name),
            },
        }
        for peer in org.peers
    }
    ca = ca_node(org.name)
    return {
        "name": f"{consortium.name}-{org.name}",
        "version": PROFILE_VERSION,
        "client": {
            "organization": org.name,
            "connection": {"timeout": {"peer": {"endorser": "300"}}},
        },
        "organizations": {
            org.name: {"mspid": org.msp_id, "peers": list(peers), "certificateAuthorities": [ca]},
        },
        "peers": peers,
        "certificateAuthorities": {
            ca: {
                "url": f"https://{consortium.host}:{org.ca.port}",
                "caName": f"ca-{org.name}",
                "tlsCACerts": {"pem": [tls_root]},
                "httpOptions": {"verify": True},
            }
        },
    }


def write_connection_profiles(consortium: Consortium, layout: RunLayout) -> dict[str, Path]:
    """Write ``profiles/<org>.json`` for every peer organization; return the paths by organization.

    Each file is replaced atomically (mode 0600, like everything in the run directory it is its owner's).

    Raises:
        NetworkError: an organization's CA certificate is missing.
    """
    written: dict[str, Path] = {}
    for org in consortium.orgs:
        path = layout.connection_profile(org.name)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = json.dumps(connection_profile(consortium, layout, org), indent=2) + "\n"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(data)
        os.replace(tmp, path)
        written[org.name] = path
    return written
