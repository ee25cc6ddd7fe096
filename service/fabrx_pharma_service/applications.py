"""Application credentials: which ERP or system may call the service, with which key, role and identity.

The member's admin registers each application (``fabrx serve app add``): an id the application puts in
its signatures (``keyid``), its public key (RSA or ECDSA P-256/P-384, PEM), the signature algorithm
that key signs with, the pharma role whose operations it may call, and the Fabric identity of the
member it acts through (a user of the member's MSP folders, or a wallet label). The private key never
leaves the application; the service holds only public keys and never sends the Fabric keys anywhere.

The registry is one JSON file, written atomically with mode 0600 in a folder of mode 0700.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fabrx_pharma import Role

__all__ = [
    "ALGORITHMS",
    "Application",
    "ApplicationRegistry",
    "CredentialError",
    "default_algorithm",
]

ALGORITHMS = ("rsa-pss-sha512", "rsa-v1_5-sha256", "ecdsa-p256-sha256", "ecdsa-p384-sha384")
"""The RFC 9421 algorithms an application key may sign with."""

_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_IDENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")
MIN_RSA_BITS = 2048


class CredentialError(ValueError):
    """An application's registration is unusable (bad id, key, algorithm, role) or unknown."""


@dataclass(frozen=True)
class Application:
    """One registered application: ``app_id`` is the ``keyid`` of its signatures."""

    app_id: str
    role: Role
    """The pharma role whose operations the application may call."""
    identity: str
    """The member's Fabric identity it acts through: an MSP user folder name or a wallet label."""
    algorithm: str
    public_key_pem: str

    def public_key(self) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
        key = serialization.load_pem_public_key(self.public_key_pem.encode("ascii"))
        if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):  # checked on add
            raise CredentialError(f"application {self.app_id}: not an RSA or ECDSA key")
        return key

    def to_dict(self) -> dict[str, str]:
        return {
            "app_id": self.app_id,
            "role": self.role.value,
            "identity": self.identity,
            "algorithm": self.algorithm,
            "public_key_pem": self.public_key_pem,
        }

    @classmethod
    def new(
        cls, app_id: str, *, role: str, identity: str, public_key_pem: bytes, algorithm: str | None = None
    ) -> Application:
        """Check every part of a registration and build it.

        Raises :class:`CredentialError` naming what is wrong: an id or identity outside
        ``[A-Za-z0-9._-]``, an unknown role, a key that is not a PEM RSA (at least 2048 bits) or ECDSA
        P-256/P-384 public key, or an algorithm that key cannot sign with.
        """
        if not _APP_ID.fullmatch(app_id):
            raise CredentialError(f"application id {app_id!r}: use 1-64 of A-Z a-z 0-9 . _ -")
        if not _IDENTITY.fullmatch(identity):
            raise CredentialError(f"identity {identity!r}: use a user folder name or wallet label")
        try:
            parsed_role = Role(role)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise CredentialError(f"role {role!r}: one of {known}") from None
        try:
            key = serialization.load_pem_public_key(public_key_pem)
        except ValueError as exc:
            raise CredentialError(f"public key: not a PEM public key ({exc})") from None
        chosen = algorithm or default_algorithm(key)
        _check_key(key, chosen)
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")
        return cls(app_id, parsed_role, identity, chosen, pem)

    @classmethod
    def from_dict(cls, raw: dict[str, str]) -> Application:
        return cls.new(
            raw["app_id"],
            role=raw["role"],
            identity=raw["identity"],
            public_key_pem=raw["public_key_pem"].encode("ascii"),
            algorithm=raw["algorithm"],
        )


def default_algorithm(key: object) -> str:
    """The algorithm a key signs with unless told otherwise: ``rsa-pss-sha512`` for RSA,
    ``ecdsa-p256-sha256`` / ``ecdsa-p384-sha384`` by curve."""
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa-pss-sha512"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa-p384-sha384" if isinstance(key.curve, ec.SECP384R1) else "ecdsa-p256-sha256"
    raise CredentialError("public key: give an RSA or ECDSA (P-256, P-384) key")


def _check_key(key: object, algorithm: str) -> None:
    if algorithm not in ALGORITHMS:
        raise CredentialError(f"algorithm {algorithm!r}: one of {', '.join(ALGORITHMS)}")
    if isinstance(key, rsa.RSAPublicKey):
        if not algorithm.startswith("rsa-"):
            raise CredentialError(
                f"algorithm {algorithm}: an RSA key signs with rsa-pss-sha512 or rsa-v1_5-sha256"
            )
        if key.key_size < MIN_RSA_BITS:
            raise CredentialError(
                f"public key: RSA keys need at least {MIN_RSA_BITS} bits, got {key.key_size}"
            )
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        expected = {"secp256r1": "ecdsa-p256-sha256", "secp384r1": "ecdsa-p384-sha384"}.get(key.curve.name)
        if expected is None:
            raise CredentialError(f"public key: curve {key.curve.name} is not P-256 or P-384")
        if algorithm != expected:
            raise CredentialError(f"algorithm {algorithm}: a {key.curve.name} key signs with {expected}")
        return
    raise CredentialError("public key: give an RSA or ECDSA (P-256, P-384) key")


class ApplicationRegistry:
    """The registered applications of one service, kept in ``path`` (JSON, mode 0600).

    Reads go to the file each time it changed (by modification time), so ``fabrx serve app add`` takes
    effect in a running service without a restart.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cache: tuple[float, dict[str, Application]] | None = None

    def _load(self) -> dict[str, Application]:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        apps = {entry["app_id"]: Application.from_dict(entry) for entry in raw.get("applications", [])}
        self._cache = (stamp, apps)
        return apps

    def get(self, app_id: str) -> Application | None:
        return self._load().get(app_id)

    def __iter__(self) -> Iterator[Application]:
        return iter(sorted(self._load().values(), key=lambda a: a.app_id))

    def add(self, application: Application, *, replace: bool = False) -> None:
        """Register an application; raises :class:`CredentialError` if the id exists (unless ``replace``)."""
        apps = dict(self._load())
        if application.app_id in apps and not replace:
            raise CredentialError(f"application {application.app_id} is already registered (use --replace)")
        apps[application.app_id] = application
        self._save(apps)

    def remove(self, app_id: str) -> None:
        """Revoke an application; raises :class:`CredentialError` if it is not registered."""
        apps = dict(self._load())
        if apps.pop(app_id, None) is None:
            raise CredentialError(f"no application {app_id} is registered")
        self._save(apps)

    def _save(self, apps: dict[str, Application]) -> None:
        data = json.dumps(
            {"applications": [apps[k].to_dict() for k in sorted(apps)]}, indent=2, ensure_ascii=False
        ).encode("utf-8")
        write_private(self.path, data)
        self._cache = None


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, file mode 0600, creating the folder with mode 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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
