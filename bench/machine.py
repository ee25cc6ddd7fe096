"""What machine and software a benchmark ran on, for the record next to every figure."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["cpu_model", "machine_info", "memory_gib"]

REPO_ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO_ROOT / "tests" / "interop" / "node_modules"


def cpu_model(cpuinfo: str) -> str:
    """The first ``model name`` in ``/proc/cpuinfo`` text, or ``"unknown"``."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return "unknown"


def memory_gib(meminfo: str) -> float | None:
    """``MemTotal`` of ``/proc/meminfo`` text in GiB (one decimal), or ``None``."""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _output(argv: list[str]) -> str | None:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def _fabric_version(fabric_bin: Path | None) -> str | None:
    if fabric_bin is None:
        return None
    text = _output([str(fabric_bin / "peer"), "version"])
    for line in (text or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Version":
            return value.strip()
    return None


def _node_package_version(name: str) -> str | None:
    text = _read(NODE_MODULES / name / "package.json")
    return json.loads(text).get("version") if text else None


def machine_info(fabric_bin: Path | None = None) -> dict[str, Any]:
    """Cores, CPU model, memory, kernel, and the Python, Node, Fabric and Node package versions."""
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(_read(Path("/proc/cpuinfo"))),
        "memory_gib": memory_gib(_read(Path("/proc/meminfo"))),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": _output(["node", "--version"]),
        "fabric": _fabric_version(fabric_bin),
        "fabric_gateway_node": _node_package_version("@hyperledger/fabric-gateway"),
        "fabric_contract_api": _node_package_version("fabric-contract-api"),
    }
