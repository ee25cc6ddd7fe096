"""A join request: what a new organization hands the channel's members so they can add it.

It holds only public material: the organization's group name and MSP id, its CA and TLS CA
certificates (roots and intermediates), whether identities are classified by node OUs and with which
OU names, and its anchor peers. It travels as a JSON file (:meth:`JoinRequest.to_json`), made on the new
member's host from its organization MSP folder (:meth:`JoinRequest.from_msp_folder`: ``cacerts/``,
``intermediatecerts/``, ``tlscacerts/``, ``tlsintermediatecerts/``, ``config.yaml``).

Every request is validated when read or built: each problem is reported at once with its field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509

from ..errors import AdminError
from .channelconfig import AnchorPeer

__all__ = ["FORMAT", "JoinRequest", "JoinRequestError"]

FORMAT = "fabrx-join-request/1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DEFAULT_OUS = {"admin": "admin", "peer": "peer", "client": "client", "orderer": "orderer"}


class JoinRequestError(AdminError, ValueError):
    """A join request is malformed; ``problems`` lists each problem with its field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid join request:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class JoinRequest:
    """A new organization's public definition for a channel (see the module docstring).

    ``node_ous`` maps role (``admin``, ``peer``, ``client``, ``orderer``) to its OU name; empty means
    node OUs are off (roles then come from the MSP's admin list only, which fabrx does not use).
    """

    name: str
    msp_id: str
    root_certs: tuple[bytes, ...]
    tls_root_certs: tuple[bytes, ...]
    anchor_peers: tuple[AnchorPeer, ...] = ()
    intermediate_certs: tuple[bytes, ...] = ()
    tls_intermediate_certs: tuple[bytes, ...] = ()
    node_ous: dict[str, str] = field(default_factory=lambda: dict(_DEFAULT_OUS))

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise JoinRequestError(problems)

    def _problems(self) -> list[str]:
        problems = []
        if not _NAME.match(self.name):
            problems.append(f"name: {self.name!r} is not a group name (letters, digits, '.', '-', '_')")
        if not _NAME.match(self.msp_id):
            problems.append(f"msp_id: {self.msp_id!r} is not an MSP id (letters, digits, '.', '-', '_')")
        for label, certs, required, ca in (
            ("root_certs", self.root_certs, True, True),
            ("tls_root_certs", self.tls_root_certs, True, True),
            ("intermediate_certs", self.intermediate_certs, False, True),
            ("tls_intermediate_certs", self.tls_intermediate_certs, False, True),
        ):
            if required and not certs:
                problems.append(f"{label}: at least one PEM CA certificate is required")
            for index, pem in enumerate(certs):
                problem = _ca_problem(pem, must_be_ca=ca)
                if problem:
                    problems.append(f"{label}[{index}]: {problem}")
        unknown = set(self.node_ous) - set(_DEFAULT_OUS)
        if unknown:
            problems.append(f"node_ous: unknown roles {sorted(unknown)} (use admin, peer, client, orderer)")
        if self.node_ous and not {"admin", "peer", "client"} <= set(self.node_ous):
            problems.append("node_ous: admin, peer and client OUs are required when node OUs are on")
        return problems

    @classmethod
    def from_msp_folder(
        cls, name: str, msp_id: str, msp_dir: str | Path, anchor_peers: tuple[AnchorPeer, ...] = ()
    ) -> JoinRequest:
        """A request from an organization MSP folder (``configtxgen``'s ``MSPDir`` layout).

        Raises:
            JoinRequestError: the folder lacks CA certificates, or they are not CA certificates.
        """
        folder = Path(msp_dir)
        if not folder.is_dir():
            raise JoinRequestError([f"msp_dir: {folder} is not a folder"])
        node_ous: dict[str, str] = {}
        config_file = folder / "config.yaml"
        if config_file.exists():
            try:
                settings = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
                ous = settings.get("NodeOUs") or {}
                if ous.get("Enable"):
                    for role in _DEFAULT_OUS:
                        entry = ous.get(f"{role.capitalize()}OUIdentifier") or {}
                        if entry.get("OrganizationalUnitIdentifier"):
                            node_ous[role] = str(entry["OrganizationalUnitIdentifier"])
            except (OSError, yaml.YAMLError, AttributeError) as exc:
                raise JoinRequestError([f"msp_dir: unreadable {config_file}: {exc}"]) from exc
        return cls(
            name=name,
            msp_id=msp_id,
            root_certs=_pems(folder / "cacerts"),
            intermediate_certs=_pems(folder / "intermediatecerts"),
            tls_root_certs=_pems(folder / "tlscacerts"),
            tls_intermediate_certs=_pems(folder / "tlsintermediatecerts"),
            anchor_peers=anchor_peers,
            node_ous=node_ous,
        )

    def to_json(self) -> str:
        """The request file's text."""
        return json.dumps(
            {
                "format": FORMAT,
                "name": self.name,
                "msp_id": self.msp_id,
                "root_certs": [c.decode() for c in self.root_certs],
                "intermediate_certs": [c.decode() for c in self.intermediate_certs],
                "tls_root_certs": [c.decode() for c in self.tls_root_certs],
                "tls_intermediate_certs": [c.decode() for c in self.tls_intermediate_certs],
                "node_ous": self.node_ous,
                "anchor_peers": [str(a) for a in self.anchor_peers],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> JoinRequest:
        """Read a request file's text.

        Raises:
            JoinRequestError: not JSON, not a join request, or invalid (every problem named).
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise JoinRequestError([f"not JSON: {exc}"]) from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise JoinRequestError([f"format: expected {FORMAT!r} (is this a fabrx join request?)"])
        problems: list[str] = []

        def text_list(key: str) -> tuple[bytes, ...]:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{key}: a list of PEM strings is required")
                return ()
            return tuple(v.encode() for v in value)

        anchors: list[AnchorPeer] = []
        raw_anchors = data.get("anchor_peers", [])
        for index, raw in enumerate(raw_anchors if isinstance(raw_anchors, list) else [raw_anchors]):
            try:
                anchors.append(AnchorPeer.parse(str(raw)))
            except AdminError as exc:
                problems.append(f"anchor_peers[{index}]: {exc}")
        node_ous = data.get("node_ous", {})
        if not isinstance(node_ous, dict):
            problems.append("node_ous: a mapping of role to OU name is required")
            node_ous = {}
        fields: dict[str, Any] = {
            "name": str(data.get("name", "")),
            "msp_id": str(data.get("msp_id", "")),
            "root_certs": text_list("root_certs"),
            "intermediate_certs": text_list("intermediate_certs"),
            "tls_root_certs": text_list("tls_root_certs"),
            "tls_intermediate_certs": text_list("tls_intermediate_certs"),
            "anchor_peers": tuple(anchors),
            "node_ous": {str(k): str(v) for k, v in node_ous.items()},
        }
        try:
            request = cls(**fields)
        except JoinRequestError as exc:
            raise JoinRequestError([*problems, *exc.problems]) from None
        if problems:
            raise JoinRequestError(problems)
        return request


def _pems(folder: Path) -> tuple[bytes, ...]:
    if not folder.is_dir():
        return ()
    return tuple(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


def _ca_problem(pem: bytes, *, must_be_ca: bool) -> str:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        return f"not a PEM certificate ({exc})"
    if must_be_ca:
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            return "not a CA certificate (no basic constraints)"
        if not constraints.ca:
            return "not a CA certificate (basic constraints CA:FALSE)"
    return ""
