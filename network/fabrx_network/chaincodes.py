"""Chaincode-as-a-service: TLS identities, packages, chaincode server processes and deployment.

A chaincode runs as server processes that peers dial (CCaaS). By default each organization of the
chaincode's channel that has peers runs its own server for its own peers (node ``chaincode.<name>.<org>``,
files under ``orgs/<org>/chaincode/<name>/``), with TLS identities from its own CA:

- the server certificate (``server.crt``) that its peers verify with ``root_cert`` from connection.json;
- one client certificate that its peers present (``client_cert`` in connection.json), which the server
  checks against the same CA (``CHAINCODE_CLIENT_CA_CERT``): only peers holding the organization's
  installed package can call its server.

So each organization installs its own package (its server's address and TLS material) and approves the
common definition with its own package id; nothing of one organization's chaincode server is shared with
another. A Python server of one organization gets that organization's MSP id in
``CHAINCODE_PEER_MSPID``, so that its contract knows which private data its peers hold. A chaincode with
``server: {shared: true}`` runs one server (node ``chaincode.<name>``) for every
organization's peers instead, with TLS identities from the orderer organization's CA.

The package (``connection.json`` + ``metadata.json``) is built in Python and is byte-for-byte
reproducible, so re-running ``up`` computes the same package id and finds it installed.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from fabrx.admin import ChaincodeDefinition, CollectionConfig, ccaas_package
from fabrx.admin.ccaas import ChaincodePackage
from fabrx.ca import CAClient

from .config import Chaincode, Consortium, EndorsementPolicy, Organization
from .errors import NetworkError
from .identities import IdentityPlan, bootstrap_password, issue_identity
from .layout import MspFolder, RunLayout, TlsFiles
from .render import CA_BOOTSTRAP_USER, CaServer, ProcessSpec, render_env_file

__all__ = [
    "PEER_MSPID_VARIABLE",
    "ChaincodeFiles",
    "chaincode_definition",
    "chaincode_files",
    "chaincode_node",
    "chaincode_process",
    "chaincode_servers",
    "prepare_chaincode",
]

PEER_MSPID_VARIABLE = "CHAINCODE_PEER_MSPID"
"""The environment variable naming the organization whose peers a chaincode server serves."""


@dataclass(frozen=True)
class ChaincodeFiles:
    """Where one chaincode server's TLS material and package live in the run directory."""

    server_tls: TlsFiles
    peer_client_tls: TlsFiles
    package: Path

    @property
    def label(self) -> str:
        return self.package.stem.removesuffix(".tar")


def chaincode_servers(consortium: Consortium, chaincode: Chaincode) -> tuple[Organization | None, ...]:
    """The servers of ``chaincode``: one per organization that runs its own, or ``(None,)`` for the
    one shared server."""
    if chaincode.server.shared:
        return (None,)
    return consortium.chaincode_server_orgs(chaincode)


def chaincode_node(chaincode: Chaincode, org: Organization | str | None) -> str:
    """The node name of a chaincode server: ``chaincode.pharma.HospitalA``, or ``chaincode.pharma``
    for a shared server."""
    if org is None:
        return f"chaincode.{chaincode.name}"
    return f"chaincode.{chaincode.name}.{org if isinstance(org, str) else org.name}"


def chaincode_files(
    layout: RunLayout, chaincode: Chaincode, org: Organization | None = None
) -> ChaincodeFiles:
    """The files of ``org``'s server of ``chaincode`` (of the shared server when ``org`` is None)."""
    root = (
        layout.chaincode_dir(chaincode.name)
        if org is None
        else layout.org_chaincode_dir(org.name, chaincode.name)
    )
    return ChaincodeFiles(
        server_tls=TlsFiles(
            cert=root / "tls/server.crt", key=root / "tls/server.key", ca_cert=root / "tls/ca.crt"
        ),
        peer_client_tls=TlsFiles(
            cert=root / "peer-client/client.crt",
            key=root / "peer-client/client.key",
            ca_cert=root / "peer-client/ca.crt",
        ),
        package=root / f"{chaincode.name}_{chaincode.version}.tar.gz",
    )


def prepare_chaincode(
    consortium: Consortium,
    layout: RunLayout,
    chaincode: Chaincode,
    ca: CaServer,
    org: Organization | None = None,
) -> ChaincodePackage:
    """Issue the TLS identities of ``org``'s server of ``chaincode`` (once) and build the package its
    peers install (written to the run directory).

    ``ca`` issues the identities: ``org``'s own CA, or the orderer organization's for the shared server
    (``org`` None).
    """
    files = chaincode_files(layout, chaincode, org)
    issuer = ca.org
    wanted = [
        (f"cc-{chaincode.name}.{issuer}", files.server_tls, (consortium.host, "localhost")),
        (f"cc-{chaincode.name}-peers.{issuer}", files.peer_client_tls, ()),
    ]
    missing = [w for w in wanted if not (w[1].cert.exists() and w[1].key.exists())]
    if missing:
        password = bootstrap_password(layout, issuer)
        with CAClient(ca.url, tls_root_certs=ca.ca_cert.read_bytes()) as client:
            registrar = client.enroll(CA_BOOTSTRAP_USER, password)
            for enrollment_id, tls, hosts in missing:
                plan = IdentityPlan(issuer, enrollment_id, "client", MspFolder(tls.cert.parent / "msp"), tls)
                issue_identity(client, registrar, password, plan, hosts)
    port = chaincode.server.port_of(org.name) if org is not None else chaincode.server.port
    package = ccaas_package(
        f"{chaincode.name}_{chaincode.version}",
        address=f"{consortium.host}:{port}",
        dial_timeout="10s",
        tls_required=True,
        client_auth_required=True,
        client_key=files.peer_client_tls.key.read_text(),
        client_cert=files.peer_client_tls.cert.read_text(),
        root_cert=files.server_tls.ca_cert.read_text(),
    )
    # The package holds the TLS private key the peers present to the chaincode server: owner-only.
    temporary = files.package.with_name(f".{files.package.name}.tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        handle.write(package.data)
    os.chmod(temporary, 0o600)  # an older run may have left the temporary file with a wider mode
    temporary.replace(files.package)
    return package


def chaincode_definition(consortium: Consortium, chaincode: Chaincode) -> ChaincodeDefinition:
    """The lifecycle definition of ``chaincode`` as every organization approves it."""
    return ChaincodeDefinition(
        name=chaincode.name,
        version=chaincode.version,
        sequence=chaincode.sequence,
        endorsement_policy=_policy(chaincode.endorsement_policy),
        collections=tuple(
            CollectionConfig(
                name=c.name,
                policy=c.policy,
                required_peer_count=c.required_peer_count,
                max_peer_count=c.max_peer_count,
                block_to_live=c.block_to_live,
                member_only_read=c.member_only_read,
                member_only_write=c.member_only_write,
                endorsement_policy=_policy(c.endorsement_policy) if c.endorsement_policy else None,
            )
            for c in chaincode.collections
        ),
    )


def _policy(policy: EndorsementPolicy) -> str | None:
    return policy.signature_policy or policy.channel_config_policy or None


def chaincode_process(
    consortium: Consortium,
    layout: RunLayout,
    chaincode: Chaincode,
    package_id: str,
    base_dir: Path,
    org: Organization | None = None,
) -> ProcessSpec:
    """The process of ``org``'s server of ``chaincode`` (the shared server when ``org`` is None):
    Python on fabrx_chaincode, or Node for reference runs.

    ``base_dir`` is the folder of the consortium file: Python modules and Node module paths named in
    ``runtime`` are resolved from it.
    """
    files = chaincode_files(layout, chaincode, org)
    node = chaincode_node(chaincode, org)
    port = chaincode.server.port_of(org.name) if org is not None else chaincode.server.port
    address = f"{consortium.host}:{port}"
    tls = files.server_tls
    if chaincode.runtime.python:
        argv: tuple[str, ...] = (sys.executable, "-m", "fabrx_chaincode", chaincode.runtime.python)
        env = {
            "CHAINCODE_ID": package_id,
            "CHAINCODE_SERVER_ADDRESS": address,
            "CHAINCODE_TLS_CERT": str(tls.cert),
            "CHAINCODE_TLS_KEY": str(tls.key),
            "CHAINCODE_CLIENT_CA_CERT": str(tls.ca_cert),
            "PYTHONPATH": str(base_dir),
        }
        if org is not None:
            # The organization whose peers this server serves: a contract may rely on what that
            # organization's peers hold (its implicit private data collection, say).
            env[PEER_MSPID_VARIABLE] = org.msp_id
    else:
        module = (base_dir / chaincode.runtime.node).resolve()
        launcher = _node_launcher(module)
        node_bin = shutil.which("node") or "node"
        argv = (
            node_bin,
            str(launcher),
            "server",
            "--chaincode-address",
            address,
            "--chaincode-id",
            package_id,
            "--chaincode-tls-cert-file",
            str(tls.cert),
            "--chaincode-tls-key-file",
            str(tls.key),
            "--chaincode-tls-client-cacert-file",
            str(tls.ca_cert),
            "--module-path",
            str(module),
        )
        env = {"CORE_CHAINCODE_LOGGING_LEVEL": "warning"}
    return ProcessSpec(
        name=node,
        kind="chaincode",
        argv=argv,
        env=env,
        cwd=base_dir,
        log_path=layout.log_file(node),
        health_url="",
        ports=(port,),
        env_file=layout.node_env_file(node),
    )


def write_chaincode_env(spec: ProcessSpec) -> None:
    spec.env_file.parent.mkdir(parents=True, exist_ok=True)
    spec.env_file.write_text(render_env_file(spec))


def _node_launcher(module: Path) -> Path:
    for folder in (module, *module.parents):
        candidate = folder / "node_modules" / "fabric-shim" / "cli.js"
        if candidate.exists():
            return candidate
    raise NetworkError(
        f"cannot find fabric-shim for the Node chaincode in {module}: run `npm ci` in the folder that holds "
        "its package.json (for fabrx's reference chaincode: `make node-deps`)"
    )
