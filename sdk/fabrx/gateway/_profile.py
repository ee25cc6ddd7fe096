"""Fabric common connection profiles (JSON or YAML): find the gateway peer of an organization."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .. import hashing
from ..endpoint import Endpoint
from ..errors import ArgumentError
from ..hashing import Hash
from ..identity import Identity
from ..signing import Signer
from ._gateway import Gateway, connect
from ._options import Reconnect, Timeouts


def load_profile(path: str | Path) -> dict[str, Any]:
    """Read a connection profile; ``.json`` files as JSON, anything else as YAML.

    Raises:
        ArgumentError: the file cannot be read or is not a JSON/YAML mapping.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArgumentError(f"{file}: cannot read the connection profile: {exc}") from exc
    try:
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ArgumentError(f"{file}: not a valid connection profile: {exc}") from exc
    if not isinstance(data, dict):
        raise ArgumentError(
            f"{file}: a connection profile must be a mapping with 'organizations' and 'peers'"
        )
    return data


def _section(mapping: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = mapping.get(key)
    if not isinstance(value, Mapping):
        raise ArgumentError(f"connection profile: {where}.{key} is missing or not a mapping")
    return value


def _pem(entry: Any, where: str, base_dir: Path) -> bytes | None:
    """A PEM given inline (``pem``) or by file (``path``, relative to the profile)."""
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise ArgumentError(f"connection profile: {where} must be a mapping with 'pem' or 'path'")
    if isinstance(entry.get("pem"), str):
        return str(entry["pem"]).encode()
    if isinstance(entry.get("path"), str):
        pem_file = base_dir / str(entry["path"])
        try:
            return pem_file.read_bytes()
        except OSError as exc:
            raise ArgumentError(f"connection profile: {where}.path: cannot read {pem_file}: {exc}") from exc
    raise ArgumentError(f"connection profile: {where} needs 'pem' (inline PEM) or 'path' (a PEM file)")


def endpoint_from_profile(
    profile: Mapping[str, Any], *, org: str | None = None, peer: str | None = None, base_dir: Path = Path(".")
) -> Endpoint:
    """The Endpoint of ``peer`` (default: the first peer of ``org``, default ``client.organization``).

    Uses the peer's ``url`` (``grpcs://`` means TLS), ``tlsCACerts`` and
    ``grpcOptions.ssl-target-name-override``, plus ``client.tlsCerts.client`` for mutual TLS.

    Raises:
        ArgumentError: the organization or peer is not in the profile, or an entry is malformed.
    """
    client = profile.get("client") if isinstance(profile.get("client"), Mapping) else {}
    assert isinstance(client, Mapping)
    org_name = org or client.get("organization")
    organizations = _section(profile, "organizations", "profile")
    if not org_name or org_name not in organizations:
        raise ArgumentError(
            f"connection profile: organization {org_name!r} not found; known: {sorted(organizations)} "
            "(pass org=... or set client.organization)"
        )
    peers = _section(profile, "peers", "profile")
    if peer is None:
        org_peers = organizations[org_name].get("peers") or []
        if not org_peers:
            raise ArgumentError(f"connection profile: organizations.{org_name}.peers lists no peer")
        peer = str(org_peers[0])
    peer_entry = _section(peers, peer, "peers")
    url = peer_entry.get("url")
    if not isinstance(url, str):
        raise ArgumentError(f"connection profile: peers.{peer}.url is missing")
    parts = urlsplit(url if "://" in url else f"grpcs://{url}")
    if not parts.hostname or not parts.port:
        raise ArgumentError(f"connection profile: peers.{peer}.url {url!r} must be grpcs://host:port")
    tls = parts.scheme != "grpc"
    options = peer_entry.get("grpcOptions") or {}
    server_name = options.get("ssl-target-name-override") or options.get("hostnameOverride")
    client_tls = (
        client.get("tlsCerts", {}).get("client") if isinstance(client.get("tlsCerts"), Mapping) else None
    )
    client_cert = client_key = None
    if tls and isinstance(client_tls, Mapping):
        client_cert = _pem(client_tls.get("cert"), "client.tlsCerts.client.cert", base_dir)
        client_key = _pem(client_tls.get("key"), "client.tlsCerts.client.key", base_dir)
    root_certs = _pem(peer_entry.get("tlsCACerts"), f"peers.{peer}.tlsCACerts", base_dir) if tls else None
    if tls and root_certs is None:
        raise ArgumentError(f"connection profile: peers.{peer}.tlsCACerts is required for {url}")
    return Endpoint(
        address=f"{parts.hostname}:{parts.port}",
        tls_root_certs=root_certs,
        client_cert=client_cert,
        client_key=client_key,
        server_name=str(server_name) if server_name else None,
    )


def connect_profile(
    path: str | Path,
    *,
    identity: Identity,
    signer: Signer | None = None,
    org: str | None = None,
    peer: str | None = None,
    hash: Hash = hashing.sha256,
    timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen value object
    reconnect: Reconnect | None = Reconnect(),  # noqa: B008 - frozen value object
) -> Gateway:
    """Connect to the gateway peer of ``org`` named in the connection profile at ``path``.

    Raises:
        ArgumentError: the profile or a PEM file it references cannot be read, or the profile lacks
            the organization, its peer, or TLS material.
    """
    profile_path = Path(path)
    endpoint = endpoint_from_profile(
        load_profile(profile_path), org=org, peer=peer, base_dir=profile_path.parent
    )
    return connect(
        endpoint, identity=identity, signer=signer, hash=hash, timeouts=timeouts, reconnect=reconnect
    )
