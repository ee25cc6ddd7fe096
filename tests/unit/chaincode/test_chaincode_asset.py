"""examples/chaincode/asset.py on the in-memory ledger."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from fabrx_chaincode import MemoryLedger

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "chaincode" / "asset.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fabrx_example_asset", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


asset = _load()


@pytest.fixture
def memory() -> MemoryLedger:
    ledger = MemoryLedger()
    ledger.deploy("basic", [asset.AssetContract()])
    return ledger


def test_create_writes_one_json_key_like_the_node_reference(memory: MemoryLedger) -> None:
    response = memory.submit_sync("basic", "CreateAsset", "a1", "blue", "5", "Tom", "300")
    expected = b'{"ID":"a1","Color":"blue","Size":5,"Owner":"Tom","AppraisedValue":300}'
    assert response.payload == expected
    assert dict(memory.state("basic")) == {"a1": expected}
    assert memory.evaluate_sync("basic", "ReadAsset", "a1").payload == expected
    assert memory.evaluate_sync("basic", "asset:AssetExists", "a1").payload == b"true"


def test_update_transfer_delete_and_list(memory: MemoryLedger) -> None:
    memory.submit_sync("basic", "CreateAsset", "a1", "blue", "5", "Tom", "300")
    memory.submit_sync("basic", "CreateAsset", "a2", "red", "7", "Ann", "500")
    assert memory.submit_sync("basic", "UpdateAsset", "a1", "green", "6", "Tom", "350").ok
    assert memory.submit_sync("basic", "TransferAsset", "a1", "Max").payload == b"Tom"
    assets = json.loads(memory.evaluate_sync("basic", "GetAllAssets").payload)
    assert [(a["ID"], a["Owner"], a["Color"]) for a in assets] == [
        ("a1", "Max", "green"),
        ("a2", "Ann", "red"),
    ]
    assert memory.submit_sync("basic", "DeleteAsset", "a2").ok
    assert memory.evaluate_sync("basic", "AssetExists", "a2").payload == b"false"


def test_missing_assets_and_bad_numbers_fail(memory: MemoryLedger) -> None:
    missing = memory.evaluate_sync("basic", "ReadAsset", "nope")
    assert (missing.status, missing.message) == (500, "the asset nope does not exist")
    assert memory.submit_sync("basic", "UpdateAsset", "nope", "c", "1", "o", "2").status == 500
    bad = memory.submit_sync("basic", "CreateAsset", "a1", "blue", "five", "Tom", "300")
    assert bad.status == 400 and "'size'" in bad.message


def test_private_data_from_transient(memory: MemoryLedger) -> None:
    response = memory.submit_sync(
        "basic", "PutPrivate", "orgCollection", transient={"p1": b"secret", "p0": b"x"}
    )
    assert json.loads(response.payload) == ["p0", "p1"]
    assert memory.evaluate_sync("basic", "GetPrivate", "orgCollection", "p1").payload == b"secret"
    digest = memory.evaluate_sync("basic", "GetPrivateHash", "orgCollection", "p1").payload
    assert digest == hashlib.sha256(b"secret").hexdigest().encode()
    assert memory.submit_sync("basic", "PutPrivate", "orgCollection").status == 400
    assert memory.evaluate_sync("basic", "GetPrivate", "orgCollection", "zz").status == 500


def test_event_call_other_and_fail(memory: MemoryLedger) -> None:
    assert memory.submit_sync("basic", "EmitEvent", "AssetCreated", "payload-1").payload == b"payload-1"
    assert (memory.events[-1].name, memory.events[-1].payload) == ("AssetCreated", b"payload-1")
    memory.deploy("other", [asset.AssetContract()])
    created = memory.submit_sync("basic", "CallOther", "other", "CreateAsset", '["o1","red","1","Zed","9"]')
    assert json.loads(created.payload)["ID"] == "o1"
    assert "o1" in memory.state("other") and "o1" not in memory.state("basic")
    failed = memory.submit_sync("basic", "CallOther", "other", "ReadAsset", '["zz"]')
    assert failed.status == 500 and "the asset zz does not exist" in failed.message
    fail = memory.evaluate_sync("basic", "Fail", "on purpose")
    assert (fail.status, fail.message) == (500, "on purpose")
