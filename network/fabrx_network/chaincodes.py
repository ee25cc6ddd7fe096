"""Chaincode-as-a-service: TLS identities, packages, chaincode server processes and deployment.

Each chaincode of the consortium runs as one server process that the peers of every organization dial
(CCaaS). Its TLS identities come from the orderer organization's CA, the consortium operator's:

- the server certificate (``server.crt``) that peers verify with ``root_cert`` from connection.json;
- one client certificate that every peer presents (``client_cert`` in connection.json), which the
  server checks against the same CA (``CHAINCODE_CLIENT_CA_CERT``): only peers holding the installed
  package can call the chaincode.

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

from .config import Chaincode, Consortium, EndorsementPolicy
from .errors import NetworkError
from .identities import IdentityPlan, bootstrap_password, issue_identity
from .layout import MspFolder, RunLayout, TlsFiles
from .render import CA_BOOTSTRAP_USER, CaServer, ProcessSpec, render_env_file

__all__ = [
    "ChaincodeFiles",
    "chaincode_definition",
    "chaincode_files",
    "chaincode_process",
    "prepare_chaincode",
]


@dataclass(frozen=True)
class ChaincodeFiles:
    """Where one chaincode's TLS material and package live in the run directory."""

    server_tls: TlsFiles
    peer_client_tls: TlsFiles
    package: Path

    @property
    def label(self) -> str:
        return self.package.stem.removesuffix(".tar")


def chaincode_files(layout: RunLayout, chaincode: Chaincode) -> ChaincodeFiles:
    root = layout.chaincode_dir(chaincode.name)
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
    consortium: Consortium, layout: RunLayout, chaincode: Chaincode, operator_ca: CaServer
) -> ChaincodePackage:
    """Issue the chaincode's TLS identities (once) and build its CCaaS package (written to the run dir)."""
    files = chaincode_files(layout, chaincode)
    org = operator_ca.org
    wanted = [
        (f"cc-{chaincode.name}.{org}", files.server_tls, (consortium.host, "localhost")),
        (f"cc-{chaincode.name}-peers.{org}", files.peer_client_tls, ()),
    ]
    missing = [w for w in wanted if not (w[1].cert.exists() and w[1].key.exists())]
    if missing:
        password = bootstrap_password(layout, org)
        with CAClient(operator_ca.url, tls_root_certs=operator_ca.ca_cert.read_bytes()) as client:
            registrar = client.enroll(CA_BOOTSTRAP_USER, password)
            for enrollment_id, tls, hosts in missing:
                plan = IdentityPlan(org, enrollment_id, "client", MspFolder(tls.cert.parent / "msp"), tls)
                issue_identity(client, registrar, password, plan, hosts)
    package = ccaas_package(
        f"{chaincode.name}_{chaincode.version}",
        address=f"{consortium.host}:{chaincode.server.port}",
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
    consortium: Consortium, layout: RunLayout, chaincode: Chaincode, package_id: str, base_dir: Path
) -> ProcessSpec:
    """The server process of ``chaincode`` (Python on fabrx_chaincode, or Node for reference runs).

    ``base_dir`` is the folder of the consortium file: Python modules and Node module paths named in
    ``runtime`` are resolved from it.
    """
    files = chaincode_files(layout, chaincode)
    node = f"chaincode.{chaincode.name}"
    address = f"{consortium.host}:{chaincode.server.port}"
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
        ports=(chaincode.server.port,),
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
