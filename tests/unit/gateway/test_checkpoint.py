"""Checkpointers: positions to resume events from, persisted atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fabrx.gateway import ChaincodeEvent, Checkpoint, FileCheckpointer, InMemoryCheckpointer


def test_in_memory_checkpointer_positions() -> None:
    checkpointer = InMemoryCheckpointer()
    assert (checkpointer.block_number, checkpointer.transaction_id) == (None, None)
    checkpointer.checkpoint_transaction(5, "tx5")
    assert (checkpointer.block_number, checkpointer.transaction_id) == (5, "tx5")
    checkpointer.checkpoint_block(5)
    assert (checkpointer.block_number, checkpointer.transaction_id) == (6, None)
    checkpointer.checkpoint_chaincode_event(ChaincodeEvent(7, "tx7", "cc", "E", b""))
    assert (checkpointer.block_number, checkpointer.transaction_id) == (7, "tx7")
    assert isinstance(checkpointer, Checkpoint)


def test_file_checkpointer_persists_json_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "events.checkpoint"
    checkpointer = FileCheckpointer(path)
    assert not path.exists()
    checkpointer.checkpoint_transaction(3, "tx3")
    assert json.loads(path.read_text()) == {"block_number": 3, "transaction_id": "tx3"}
    checkpointer.checkpoint_block(3)
    reloaded = FileCheckpointer(path)
    assert (reloaded.block_number, reloaded.transaction_id) == (4, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.checkpoint"]  # no temp file left


def test_file_checkpointer_replaces_the_file_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cp.json"
    checkpointer = FileCheckpointer(path)
    checkpointer.checkpoint_transaction(1, "a")

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        checkpointer.checkpoint_transaction(2, "b")
    assert json.loads(path.read_text()) == {"block_number": 1, "transaction_id": "a"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp.json"]


@pytest.mark.parametrize("content", ["not json", '{"block_number": -1}', '{"transaction_id": 5}', "[1, 2]"])
def test_file_checkpointer_rejects_foreign_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "cp.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="not a checkpoint file"):
        FileCheckpointer(path)
