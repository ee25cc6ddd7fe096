"""The benchmark network as the benchmarks see it: where to connect, what to watch, what to report.

A :class:`BenchNetwork` is either made by the orchestrator's network set-up (``bench_network()`` in
:mod:`bench.__main__`) or read from a JSON file describing a network that is already running::

    {
      "description": "1 Raft orderer, 2 orgs x 1 peer, TLS, LevelDB, CCaaS, OR endorsement, 20 ms / 100 tx",
      "channel": "benchchannel",
      "gateway": {"address": "127.0.0.1:27051", "tls_root_cert": "/path/tlsca.pem", "server_name": null},
      "client": {"msp_id": "Org1MSP", "cert": "/path/cert.pem", "key": "/path/priv_sk"},
      "chaincodes": {
        "node": {"name": "asset", "contract": "asset", "pid": 4242},
        "fabrx": {"name": "asset_py", "contract": null, "pid": 4243}
      },
      "processes": {"gateway peer": 4200, "other peer": 4201, "orderer": 4199},
      "fabric_bin": "/root/.cache/fabrx/fabric-3.1.5/bin"
    }

``processes`` and each chaincode's ``pid`` name the server processes whose CPU is charged to the
measured transactions. Relative paths are taken from the JSON file's folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .load import LoadConfig

__all__ = ["BenchChaincode", "BenchNetwork", "load_network"]


@dataclass(frozen=True, kw_only=True)
class BenchChaincode:
    """A deployed asset chaincode (``CreateAsset``/``ReadAsset``) and the pid of its CCaaS server."""

    name: str
    contract: str | None = None
    pid: int | None = None


@dataclass(frozen=True, kw_only=True)
class BenchNetwork:
    """A running network to benchmark, connected to through one gateway peer as one client identity."""

    channel: str
    peer_address: str
    tls_root_cert: Path
    msp_id: str
    cert: Path
    key: Path
    chaincodes: Mapping[str, BenchChaincode]
    processes: Mapping[str, int] = field(default_factory=dict)
    server_name: str | None = None
    description: str = ""
    fabric_bin: Path | None = None

    def load_config(self, chaincode: str, **run: Any) -> LoadConfig:
        """A driver config for ``chaincode`` through this network's gateway peer and client identity;
        ``run`` holds the run's own :class:`LoadConfig` fields (mode, concurrency, window, run id...)."""
        spec = self.chaincodes[chaincode]
        return LoadConfig(
            peer_address=self.peer_address,
            tls_root_cert_path=str(self.tls_root_cert),
            server_name=self.server_name,
            msp_id=self.msp_id,
            cert_path=str(self.cert),
            key_path=str(self.key),
            channel=self.channel,
            chaincode=spec.name,
            contract=spec.contract,
            **run,
        )

    def watched(self, chaincode: str | None) -> dict[str, int]:
        """Server processes to charge CPU to: the nodes plus ``chaincode``'s server (as ``chaincode``)."""
        pids = dict(self.processes)
        if chaincode is not None and (pid := self.chaincodes[chaincode].pid) is not None:
            pids["chaincode"] = pid
        return pids


def load_network(path: str | Path) -> BenchNetwork:
    """Read a network description (format in the module docstring).

    Raises:
        ValueError: the file is not such a description; the message names the missing or bad field.
        OSError: the file cannot be read.
    """
    source = Path(path)
    base = source.parent
    try:
        data: dict[str, Any] = json.loads(source.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not JSON: {exc}") from exc

    def resolve(value: str) -> Path:
        candidate = Path(value)
        return candidate if candidate.is_absolute() else base / candidate

    try:
        gateway, client = data["gateway"], data["client"]
        chaincodes = {
            kind: BenchChaincode(name=spec["name"], contract=spec.get("contract"), pid=spec.get("pid"))
            for kind, spec in data["chaincodes"].items()
        }
        return BenchNetwork(
            channel=data["channel"],
            peer_address=gateway["address"],
            tls_root_cert=resolve(gateway["tls_root_cert"]),
            server_name=gateway.get("server_name"),
            msp_id=client["msp_id"],
            cert=resolve(client["cert"]),
            key=resolve(client["key"]),
            chaincodes=chaincodes,
            processes={name: int(pid) for name, pid in data.get("processes", {}).items()},
            description=data.get("description", ""),
            fabric_bin=resolve(data["fabric_bin"]) if data.get("fabric_bin") else None,
        )
    except KeyError as exc:
        raise ValueError(f"{source}: network description lacks {exc.args[0]!r}") from exc
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"{source}: malformed network description: {exc}") from exc
