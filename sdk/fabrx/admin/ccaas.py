"""Chaincode packages, in particular chaincode-as-a-service (CCaaS) packages.

A chaincode package is a gzipped tar holding ``metadata.json`` (``{"type": ..., "label": ...}``) and
``code.tar.gz``. For CCaaS the code archive holds only ``connection.json``: where the peer dials the
running chaincode server and with which TLS material. The package id is
``<label>:<hex sha256 of the package bytes>``.

Packages are built deterministically (fixed order, modification times, owners and modes, no gzip
timestamp), so the same inputs always give the same bytes and therefore the same package id: a
re-run of a deployment finds the package already installed instead of installing a new one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import AdminError, ArgumentError

__all__ = ["ChaincodePackage", "ccaas_package", "package_id", "package_label"]

# Fabric's rule for package labels (core/chaincode/persistence).
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
# 2000-01-01T00:00:00Z: any fixed time makes the archive reproducible; 0 upsets some tar readers.
_FIXED_MTIME = 946_684_800


@dataclass(frozen=True)
class ChaincodePackage:
    """The bytes of a chaincode package and its label."""

    label: str
    data: bytes

    @property
    def package_id(self) -> str:
        """``<label>:<sha256 hex of data>``, the id peers report after installing it."""
        return f"{self.label}:{hashlib.sha256(self.data).hexdigest()}"


def ccaas_package(
    label: str,
    *,
    address: str,
    dial_timeout: str = "10s",
    tls_required: bool = False,
    client_auth_required: bool = False,
    client_key: str | bytes = "",
    client_cert: str | bytes = "",
    root_cert: str | bytes = "",
) -> ChaincodePackage:
    """Build a CCaaS package for a chaincode server listening at ``address`` (``host:port``).

    ``root_cert`` verifies the chaincode server's TLS certificate when ``tls_required``;
    ``client_key``/``client_cert`` are what the peer presents when the server requires client
    authentication. PEM material may be given as ``str`` or ``bytes``; it ends up as PEM strings in
    ``connection.json``. The peer's CCaaS builder must treat ``metadata.json`` type ``ccaas``.

    Raises:
        ArgumentError: the label is not a valid Fabric package label, the address is empty, or TLS
            material required by the flags is missing.
    """
    _check_label(label)
    if not address:
        raise ArgumentError("a CCaaS package needs the chaincode server address (host:port)")
    if tls_required and not root_cert:
        raise ArgumentError(
            "tls_required needs root_cert (the CA that issued the chaincode server's certificate)"
        )
    if client_auth_required and not (client_key and client_cert):
        raise ArgumentError("client_auth_required needs client_key and client_cert for the peer to present")
    connection = {
        "address": address,
        "dial_timeout": dial_timeout,
        "tls_required": tls_required,
        "client_auth_required": client_auth_required,
        "client_key": _text(client_key),
        "client_cert": _text(client_cert),
        "root_cert": _text(root_cert),
    }
    code = _targz({"connection.json": _json(connection)})
    metadata = _json({"type": "ccaas", "label": label})
    return ChaincodePackage(label=label, data=_targz({"metadata.json": metadata, "code.tar.gz": code}))


def package_label(data: bytes) -> str:
    """The label in a chaincode package's ``metadata.json``.

    Raises:
        AdminError: the bytes are not a chaincode package (gzipped tar with a ``metadata.json``).
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            member = archive.extractfile("metadata.json")
            if member is None:
                raise AdminError("chaincode package: metadata.json is not a regular file")
            metadata = json.loads(member.read())
    except (tarfile.TarError, KeyError, OSError, EOFError, ValueError) as exc:
        raise AdminError(f"not a chaincode package (gzipped tar with metadata.json): {exc}") from exc
    label = metadata.get("label") if isinstance(metadata, dict) else None
    if not isinstance(label, str) or not _LABEL.match(label):
        raise AdminError(f"chaincode package has no valid label in metadata.json: {label!r}")
    return label


def package_id(data: bytes) -> str:
    """The package id of any chaincode package (``<label>:<sha256 hex>``), as peers compute it.

    Raises:
        AdminError: the bytes are not a chaincode package.
    """
    return f"{package_label(data)}:{hashlib.sha256(data).hexdigest()}"


def _check_label(label: str) -> None:
    if not _LABEL.match(label):
        raise ArgumentError(
            f"invalid chaincode package label {label!r}: start with a letter or digit, then use only "
            "letters, digits and _ . + -"
        )


def _text(pem: str | bytes) -> str:
    return pem.decode() if isinstance(pem, bytes) else pem


def _json(value: Mapping[str, object]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _targz(files: Mapping[str, bytes]) -> bytes:
    raw = io.BytesIO()
    # USTAR: no PAX headers, which would carry extra (time) fields.
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = _FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)
