"""Keys, secrets, passwords and ledgers in the run directory are readable by their owner only.

Walks the whole run directory of the session network after it has served the other tests (CAs with
their databases, peers and orderers with ledgers holding private data, chaincode packages) and checks
every file and folder by what it holds, not by where fabrx meant to put it:

- the run directory itself is 0700;
- owner-only (no group or other bits): every file holding a private key (PEM ``PRIVATE KEY``, a
  ``keystore`` entry, ``*.key``, ``*_sk``, the CA's ``IssuerSecretKey`` and
  ``IssuerRevocationPrivateKey``), a secret (``*.secret``) or a CA bootstrap password (found by
  content), a CA database (``*.db``), a chaincode package (it holds the peers' TLS client key), and
  everything under a node's ``data`` folder (ledgers, private data, Raft WAL); those folders, CA homes
  and the log folder are 0700;
- the only files that may stay readable by others are public or harmless: certificates (``*.pem``,
  ``*.crt``), node OU and Fabric configuration without secrets (``config.yaml``, ``configtx.yaml``,
  ``core.yaml``), genesis blocks (``*.block``), each node's ``env`` (no secrets by construction),
  ``state.json``, and the chaincode builder's scripts. Anything else readable by others fails the test.
"""

from __future__ import annotations

import stat
from pathlib import Path

from fabrx_network import ConsortiumNetwork

KEY_NAMES = {"IssuerSecretKey", "IssuerRevocationPrivateKey"}
PUBLIC_SUFFIXES = {".pem", ".crt", ".block"}
PUBLIC_NAMES = {"config.yaml", "configtx.yaml", "core.yaml", "env", "state.json"}


def _passwords(network: ConsortiumNetwork) -> list[bytes]:
    orgs = [network.consortium.orderer_org.name, *(o.name for o in network.consortium.orgs)]
    return [network.layout.ca_bootstrap_secret(org).read_bytes().strip() for org in orgs]


def _why_private(path: Path, relative: Path, passwords: list[bytes]) -> str:
    """Why ``path`` must be owner-only, or "" when it holds nothing secret."""
    parts = relative.parts
    if parts[0] == "nodes" and len(parts) > 2 and parts[2] == "data":
        return "ledger data"
    if path.name in KEY_NAMES or path.suffix == ".key" or path.name.endswith("_sk"):
        return "private key"
    if path.parent.name == "keystore":
        return "keystore entry"
    if path.suffix == ".secret":
        return "secret"
    if path.suffix == ".db":
        return "CA database"
    if parts[0] == "chaincode" and path.name.endswith(".tar.gz"):
        return "chaincode package (holds the peers' TLS client key)"
    content = path.read_bytes()
    if b"PRIVATE KEY" in content:
        return "PEM private key"
    if any(password in content for password in passwords):
        return "CA bootstrap password"
    return ""


def _is_public(path: Path, relative: Path) -> bool:
    if path.suffix in PUBLIC_SUFFIXES or path.name in PUBLIC_NAMES:
        return True
    return relative.parts[:3] == ("builders", "ccaas", "bin")


def test_no_key_secret_password_or_ledger_is_readable_by_group_or_others(network: ConsortiumNetwork) -> None:
    root = network.run_dir
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    passwords = _passwords(network)
    exposed: list[str] = []
    unexpected: list[str] = []
    private_count = 0
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            continue
        relative = path.relative_to(root)
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir():
            holds_private = relative.parts[0] == "nodes" and relative.name == "data"
            holds_private |= relative.parts[:1] == ("logs",) or (
                relative.name == "ca" and relative.parts[0] == "orgs"
            )
            if holds_private and mode & 0o077:
                exposed.append(f"{relative}/ (folder {oct(mode)})")
            continue
        why = _why_private(path, relative, passwords)
        if why:
            private_count += 1
            if mode & 0o077:
                exposed.append(f"{relative} ({why}, {oct(mode)})")
        elif mode & 0o077 and not _is_public(path, relative):
            unexpected.append(f"{relative} ({oct(mode)})")
    assert not exposed, "readable by group or others:\n" + "\n".join(exposed)
    assert not unexpected, "readable by others but not known to be public:\n" + "\n".join(unexpected)
    # The walk saw what it is about: keys of every organization, CA secrets and ledgers.
    assert private_count > 100, private_count
    ledger = root / "nodes" / "peer0.HospitalA" / "data"
    assert any(p.is_file() for p in ledger.rglob("*")), f"no ledger files under {ledger}"
