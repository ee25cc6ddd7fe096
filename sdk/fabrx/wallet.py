"""Wallets: labelled X.509 identities (certificate + private key) stored for later use.

The file format is the Node SDK's (``fabric-network`` ``Wallets.newFileSystemWallet``): one
``<label>.id`` file per identity holding::

    {"credentials": {"certificate": "<PEM>", "privateKey": "<PEM>"}, "mspId": "Org1MSP",
     "type": "X.509", "version": 1}

so wallets are shared between fabrx and Node or Java applications. Files hold private keys: fabrx
writes them with mode 0600 (directory 0700), atomically, so a crash never leaves a half-written
identity. Wallet problems (unreadable or corrupt files, unusable labels) raise
:class:`~fabrx.errors.IdentityError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import IdentityError
from .identity import Identity
from .signing import PrivateKey, Signer, load_private_key, new_private_key_signer

__all__ = ["FileSystemWallet", "InMemoryWallet", "Wallet", "X509Identity"]

_SUFFIX = ".id"


@dataclass(frozen=True, repr=False)
class X509Identity:
    """An MSP id, a PEM certificate and the PEM private key it certifies."""

    msp_id: str
    certificate: bytes
    private_key: bytes

    @property
    def identity(self) -> Identity:
        """The public identity (creator of signed requests)."""
        return Identity(msp_id=self.msp_id, credentials=self.certificate)

    def key(self) -> PrivateKey:
        """The parsed private key.

        Raises:
            IdentityError: ``private_key`` is not an unencrypted PEM ECDSA/Ed25519 key.
        """
        return load_private_key(self.private_key)

    def signer(self) -> Signer:
        """A signer for the private key (SHA-256/384 digests for ECDSA).

        Raises:
            IdentityError: the private key is unusable.
        """
        return new_private_key_signer(self.key())

    def to_json(self) -> bytes:
        """The Node SDK's JSON form (version 1), byte for byte as ``JSON.stringify`` writes it."""
        data = {
            "credentials": {
                "certificate": self.certificate.decode("ascii"),
                "privateKey": self.private_key.decode("ascii"),
            },
            "mspId": self.msp_id,
            "type": "X.509",
            "version": 1,
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> X509Identity:
        """Parse the Node SDK's JSON form.

        Raises:
            IdentityError: not JSON, not an X.509 identity of version 1, or fields missing.
        """
        try:
            parsed: Any = json.loads(data)
        except ValueError as exc:
            raise IdentityError(f"wallet entry is not JSON: {exc}") from exc
        if not isinstance(parsed, dict):
            raise IdentityError("wallet entry is not a JSON object")
        if parsed.get("type") != "X.509":
            raise IdentityError(
                f"wallet entry has identity type {parsed.get('type')!r}; only X.509 is supported"
            )
        if parsed.get("version") != 1:
            raise IdentityError(
                f"wallet entry has version {parsed.get('version')!r}; only version 1 is supported"
            )
        credentials = parsed.get("credentials")
        fields = (
            parsed.get("mspId"),
            credentials.get("certificate") if isinstance(credentials, dict) else None,
            credentials.get("privateKey") if isinstance(credentials, dict) else None,
        )
        msp_id, certificate, private_key = fields
        if not (isinstance(msp_id, str) and isinstance(certificate, str) and isinstance(private_key, str)):
            raise IdentityError("wallet entry lacks mspId, credentials.certificate or credentials.privateKey")
        return cls(msp_id=msp_id, certificate=certificate.encode(), private_key=private_key.encode())

    def __repr__(self) -> str:
        # Keep the private key out of logs and tracebacks.
        return f"X509Identity(msp_id={self.msp_id!r}, private_key=<hidden>)"


class Wallet(Protocol):
    """Labelled identities. Labels are plain names (no path separators, not starting with a dot)."""

    def put(self, label: str, identity: X509Identity) -> None:
        """Store ``identity`` under ``label``, replacing any identity stored there."""
        ...

    def get(self, label: str) -> X509Identity | None:
        """The identity stored under ``label``, or ``None``."""
        ...

    def list(self) -> list[str]:
        """The labels in the wallet, sorted."""
        ...

    def remove(self, label: str) -> None:
        """Remove the identity under ``label``; removing a missing label does nothing."""
        ...


class InMemoryWallet:
    """A wallet that lives as long as the object (tests, short-lived tools). Thread-safe."""

    def __init__(self) -> None:
        self._identities: dict[str, X509Identity] = {}
        self._lock = threading.Lock()

    def put(self, label: str, identity: X509Identity) -> None:
        _check_label(label)
        with self._lock:
            self._identities[label] = identity

    def get(self, label: str) -> X509Identity | None:
        with self._lock:
            return self._identities.get(label)

    def list(self) -> list[str]:
        with self._lock:
            return sorted(self._identities)

    def remove(self, label: str) -> None:
        with self._lock:
            self._identities.pop(label, None)


class FileSystemWallet:
    """A wallet folder in the Node SDK format, one ``<label>.id`` file per identity.

    The folder is created (mode 0700) on the first :meth:`put`. Each put writes a temporary file in the
    folder and renames it over the target, so readers see the old or the new identity, never a mix.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def put(self, label: str, identity: X509Identity) -> None:
        """Store ``identity`` under ``label`` atomically, file mode 0600.

        Raises:
            IdentityError: the label is unusable or the folder cannot be written.
        """
        path = self._path(label)
        data = identity.to_json()
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_atomically(path, data)
        except OSError as exc:
            raise IdentityError(f"cannot write wallet entry {path}: {exc.strerror or exc}") from exc

    def get(self, label: str) -> X509Identity | None:
        """Read the identity under ``label``; ``None`` when there is none.

        Raises:
            IdentityError: the file cannot be read or is not a Node SDK X.509 identity.
        """
        path = self._path(label)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IdentityError(f"cannot read wallet entry {path}: {exc.strerror or exc}") from exc
        try:
            return X509Identity.from_json(data)
        except IdentityError as exc:
            raise IdentityError(f"{path}: {exc}") from exc

    def list(self) -> list[str]:
        """The labels of the ``*.id`` files in the folder, sorted (empty if the folder does not exist)."""
        if not self.directory.is_dir():
            return []
        return sorted(
            p.name[: -len(_SUFFIX)]
            for p in self.directory.iterdir()
            if p.name.endswith(_SUFFIX) and not p.name.startswith(".") and p.is_file()
        )

    def remove(self, label: str) -> None:
        """Delete the file of ``label``; a missing label is not an error.

        Raises:
            IdentityError: the file exists but cannot be deleted.
        """
        path = self._path(label)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise IdentityError(f"cannot remove wallet entry {path}: {exc.strerror or exc}") from exc

    def _path(self, label: str) -> Path:
        _check_label(label)
        return self.directory / f"{label}{_SUFFIX}"


def _check_label(label: str) -> None:
    # Labels become file names: refuse anything that could leave the folder or hide the file.
    if not label or label.startswith(".") or any(c in label for c in "/\\\0"):
        raise IdentityError(
            f"wallet label {label!r} is not usable: use a plain name without '/' or a leading '.'"
        )


def _write_atomically(path: Path, data: bytes) -> None:
    # mkstemp creates the file with mode 0600 in the same folder, so the rename cannot cross file systems.
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename durable; not every platform allows opening a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
