"""Networks the benchmarks bring up themselves, with fabrx's own tooling (:mod:`fabrx_network`).

Every network lives in a fresh folder under the system temp dir: the consortium file written there
(from a template such as ``bench/consortium.yaml`` or the default ``network/consortium.yaml``, with
ports and block cutting overridden), the files its chaincodes load, and the run directory. Leaving
the context stops every process of the run directory and deletes the folder, also when the benchmark
failed.
"""

from __future__ import annotations

import contextlib
import copy
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .network import BenchChaincode, BenchNetwork
from .runner import BenchError

__all__ = [
    "BENCH_CONSORTIUM",
    "DEFAULT_CONSORTIUM",
    "UpNetwork",
    "bench_description",
    "describe_bench_network",
    "load_template",
    "ports_taken",
    "running_network",
    "variant",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_CONSORTIUM = REPO_ROOT / "bench" / "consortium.yaml"
DEFAULT_CONSORTIUM = REPO_ROOT / "network" / "consortium.yaml"
PYTHON_ASSET = REPO_ROOT / "examples" / "chaincode" / "asset.py"

# Which chaincode of bench/consortium.yaml each suite name means, and the contract to call in it.
BENCH_CHAINCODES = {"fabrx": ("asset-py", "asset"), "node": ("asset-node", "asset")}

Progress = Callable[[str], None]


def load_template(path: Path) -> dict[str, Any]:
    """Read a consortium file as plain data.

    Raises:
        BenchError: the file is missing or is not a YAML mapping.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BenchError(f"cannot read the consortium file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise BenchError(f"{path} is not a consortium file (expected a YAML mapping)")
    return data


def variant(
    template: Mapping[str, Any],
    *,
    port_base: int | None = None,
    batch_timeout: str | None = None,
    extra_chaincodes: Sequence[Mapping[str, Any]] = (),
    root: Path = REPO_ROOT,
) -> dict[str, Any]:
    """A copy of the consortium ``template`` for one benchmark network.

    ``port_base`` moves every allocated port; ``batch_timeout`` (a duration such as ``"50ms"``) is set
    on every channel; ``extra_chaincodes`` are appended. Relative Node chaincode folders are resolved
    against ``root`` (the copy is written elsewhere); Python entry points are left as they are.
    """
    data = copy.deepcopy(dict(template))
    if port_base is not None:
        data["port_base"] = port_base
    if batch_timeout is not None:
        for channel in data.get("channels", []):
            channel.setdefault("block_cutting", {})["batch_timeout"] = batch_timeout
    chaincodes = [*data.get("chaincodes", []), *(copy.deepcopy(dict(c)) for c in extra_chaincodes)]
    for chaincode in chaincodes:
        runtime = chaincode.get("runtime", {})
        if isinstance(runtime, dict) and runtime.get("node") and not Path(runtime["node"]).is_absolute():
            runtime["node"] = str((root / runtime["node"]).resolve())
    data["chaincodes"] = chaincodes
    return data


@dataclass(frozen=True)
class UpNetwork:
    """A network brought up by :func:`running_network`: the handle, and how long ``up`` took."""

    network: Any  # fabrx_network.ConsortiumNetwork (imported lazily: unit tests do not need Fabric)
    steps: tuple[tuple[str, float], ...]
    seconds: float
    folder: Path
    fabric: Any  # fabrx_network.FabricInstall: the binaries it runs, for a restart with ``up``

    @property
    def fabric_bin(self) -> Path:
        """The folder of the Fabric binaries (``peer version`` names the release in the report)."""
        return Path(self.fabric.bin_dir)


def _fabric() -> Any:
    from fabrx_network import find_fabric

    install = find_fabric()
    if install is None:
        raise BenchError("Fabric 3.1.5 / Fabric CA 1.5.21 are not installed: run `make fabric`")
    return install


# Linux hands out the ports 32768-60999 to outgoing connections, so a port there can be held for a
# while by some program's connection (TIME_WAIT too); the benchmarks' ports lie above that range, but
# if one is taken all the same, the network moves by this much and tries again (the ranges of the
# suites, 61050, 62050 and 63050, stay apart).
PORT_SHIFT = 100
PORT_ATTEMPTS = 3


def ports_taken(error: BaseException) -> bool:
    """Whether ``error`` is fabrx_network's refusal to start because a port is held by something else."""
    from fabrx_network import ProcessError

    return isinstance(error, ProcessError) and "ports are not free" in str(error)


@contextlib.contextmanager
def running_network(
    consortium: Mapping[str, Any], *, label: str, progress: Progress = lambda _: None
) -> Iterator[UpNetwork]:
    """Write ``consortium`` into a fresh temp folder, bring it up, yield it; purge it afterwards.

    The Python asset chaincode (``examples/chaincode/asset.py``) is copied beside the consortium file
    so that a ``runtime: {python: "asset:AssetContract"}`` entry finds it. When a port of the
    consortium is held by another program, the whole network moves by :data:`PORT_SHIFT` ports and
    is brought up again (at most :data:`PORT_ATTEMPTS` times in all).

    Raises:
        BenchError: Fabric is not installed, or the network did not come up (the message carries
            fabrx_network's, which names the node and its log).
    """
    from fabrx_network import NetworkError, open_network

    install = _fabric()
    folder = Path(tempfile.mkdtemp(prefix=f"fabrx-bench-{label}-"))
    network = None
    try:
        shutil.copy(PYTHON_ASSET, folder / "asset.py")
        config = folder / "consortium.yaml"
        data = dict(consortium)
        for attempt in range(PORT_ATTEMPTS):
            config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
            network = open_network(config, folder / "run")
            try:
                report = network.up(fabric=install, progress=lambda step: progress(f"[{label}] {step}"))
                break
            except NetworkError as exc:
                network.down(purge=True)
                if not ports_taken(exc) or attempt == PORT_ATTEMPTS - 1:
                    raise BenchError(f"the {label} network did not come up: {exc}") from exc
                data["port_base"] = int(data.get("port_base", 7050)) + PORT_SHIFT
                progress(f"[{label}] a port is taken; moving the network to port_base {data['port_base']}")
        yield UpNetwork(network, tuple(report.steps), report.seconds, folder, install)
    finally:
        if network is not None:
            network.down(purge=True)
        shutil.rmtree(folder, ignore_errors=True)


def _single_key(keystore: Path) -> Path:
    keys = sorted(p for p in keystore.iterdir() if p.is_file())
    if len(keys) != 1:
        raise BenchError(f"expected one private key in {keystore}, found {len(keys)}")
    return keys[0]


def bench_description(batch_timeout: str) -> str:
    """The one-line description of the bench network that the report prints beside every figure."""
    return (
        "bench/consortium.yaml brought up by fabrx_network: 1 Raft orderer, 2 orgs x 1 peer (Fabric "
        "3.1.5, default INFO logging), TLS, LevelDB, CCaaS chaincode servers with TLS "
        "(examples/chaincode/asset.py on fabrx_chaincode; tests/interop/chaincode on "
        "fabric-contract-api, logging at warning), endorsement OR('RegulatorMSP.peer', "
        f"'ManufacturerMSP.peer'), block cutting {batch_timeout} / 100 tx"
    )


def describe_bench_network(up: UpNetwork, *, description: str) -> BenchNetwork:
    """The :class:`BenchNetwork` of a running ``bench/consortium.yaml`` network.

    The first organization's peer is the gateway and its client identity submits; the process names
    are those the suites report ("gateway peer", "other peer", "orderer").

    Raises:
        BenchError: a node or chaincode server the benchmarks watch is not running.
    """
    from fabrx_network.layout import orderer_node, peer_node

    network = up.network
    consortium = network.consortium
    gateway_org, other_org = consortium.orgs[0], consortium.orgs[1]
    orderer_org = consortium.orderer_org
    processes = network.supervisor.processes
    wanted = {
        "gateway peer": peer_node(gateway_org.name, gateway_org.peers[0].name),
        "other peer": peer_node(other_org.name, other_org.peers[0].name),
        "orderer": orderer_node(orderer_org.name, orderer_org.orderers[0].name),
    }
    missing = [node for node in wanted.values() if node not in processes]
    if missing:
        raise BenchError(f"the bench network has no running {', '.join(missing)}")
    chaincodes: dict[str, BenchChaincode] = {}
    for kind, (name, contract) in BENCH_CHAINCODES.items():
        record = processes.get(f"chaincode.{name}")
        chaincodes[kind] = BenchChaincode(name=name, contract=contract, pid=record.pid if record else None)
    msp = network.layout.user_msp(gateway_org.name, "client")
    endpoint_peer = gateway_org.peers[0]
    return BenchNetwork(
        channel=consortium.channels[0].name,
        peer_address=f"{consortium.host}:{endpoint_peer.port}",
        tls_root_cert=network.layout.ca_cert(gateway_org.name),
        msp_id=gateway_org.msp_id,
        cert=msp.signcert,
        key=_single_key(msp.keystore),
        chaincodes=chaincodes,
        processes={label: processes[node].pid for label, node in wanted.items()},
        description=description,
        fabric_bin=up.fabric_bin,
    )
