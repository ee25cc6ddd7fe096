"""Checkpointers: remember how far an event listener got, so it can resume after a restart.

A checkpoint is the block to resume from and, within it, the last transaction already processed.
Pass one as ``checkpoint=`` to ``network.chaincode_events`` / ``block_events``; record progress with
:meth:`Checkpointer.checkpoint_chaincode_event` (or ``checkpoint_block`` / ``checkpoint_transaction``)
after each event has been processed.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import ArgumentError
from ._events_model import ChaincodeEvent


@runtime_checkable
class Checkpoint(Protocol):
    """A position to resume events from: ``block_number`` and the last ``transaction_id`` processed in it."""

    @property
    def block_number(self) -> int | None: ...

    @property
    def transaction_id(self) -> str | None: ...


class Checkpointer(Checkpoint, Protocol):
    """A :class:`Checkpoint` that can be moved forward."""

    def checkpoint_block(self, block_number: int) -> None:
        """Record that block ``block_number`` was fully processed (resume from the next block)."""
        ...

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None:
        """Record that ``transaction_id`` in block ``block_number`` was processed."""
        ...

    def checkpoint_chaincode_event(self, event: ChaincodeEvent) -> None:
        """Record that ``event`` was processed."""
        ...


class InMemoryCheckpointer:
    """A checkpointer held in memory: survives reconnections, not process restarts. Not thread-safe."""

    def __init__(self) -> None:
        self._block_number: int | None = None
        self._transaction_id: str | None = None

    @property
    def block_number(self) -> int | None:
        return self._block_number

    @property
    def transaction_id(self) -> str | None:
        return self._transaction_id

    def checkpoint_block(self, block_number: int) -> None:
        self._set(block_number + 1, None)

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None:
        self._set(block_number, transaction_id)

    def checkpoint_chaincode_event(self, event: ChaincodeEvent) -> None:
        self.checkpoint_transaction(event.block_number, event.transaction_id)

    def _set(self, block_number: int, transaction_id: str | None) -> None:
        self._block_number = block_number
        self._transaction_id = transaction_id


class FileCheckpointer(InMemoryCheckpointer):
    """A checkpointer persisted as JSON ``{"block_number": ..., "transaction_id": ...}`` in ``path``.

    Each update replaces the file atomically (write a temporary file, fsync, ``os.replace``), so a crash
    leaves either the old or the new checkpoint, never a torn one. Not thread-safe.

    Raises:
        ArgumentError: the existing file is not a fabrx checkpoint.
        OSError: the file cannot be read or written.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self._path = Path(path)
        if self._path.exists():
            self._load()

    @property
    def path(self) -> Path:
        return self._path

    def _load(self) -> None:
        text = self._path.read_text(encoding="utf-8")
        if not text.strip():
            return
        try:
            state = json.loads(text)
            block_number = state.get("block_number")
            transaction_id = state.get("transaction_id")
            valid = (block_number is None or (isinstance(block_number, int) and block_number >= 0)) and (
                transaction_id is None or isinstance(transaction_id, str)
            )
        except (ValueError, AttributeError) as exc:
            raise ArgumentError(f"{self._path} is not a checkpoint file: {exc}") from exc
        if not valid:
            raise ArgumentError(
                f"{self._path} is not a checkpoint file: expected "
                '{"block_number": int >= 0 | null, "transaction_id": str | null}'
            )
        self._block_number = block_number
        self._transaction_id = transaction_id

    def _set(self, block_number: int, transaction_id: str | None) -> None:
        super()._set(block_number, transaction_id)
        data = json.dumps({"block_number": block_number, "transaction_id": transaction_id}).encode()
        directory = self._path.parent
        fd, temp_name = tempfile.mkstemp(prefix=f".{self._path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, self._path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        # The rename itself is durable only once the directory entry is flushed.
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
