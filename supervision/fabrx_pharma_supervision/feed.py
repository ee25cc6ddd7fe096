"""The feed: a member's own peer's blocks (with the private data it may read) into its store.

:class:`LedgerFeed` opens ``block_and_private_data_events`` on a ``fabrx`` Network from the block after
the store's checkpoint, decodes each block (:func:`~fabrx_pharma_supervision.decode.decode_block`) in
a reader thread and applies the blocks that have arrived, as a range, with
:meth:`SupervisionStore.apply_blocks`, which writes the rows and the checkpoint in one database
transaction. Every block is applied, config blocks and blocks of other chaincodes included (with no
writes), so the checkpoint follows the chain; a feed killed at any point resumes from the checkpoint
with no gap and no duplicate. The event stream itself reconnects after a peer restart.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from fabric_protos.peer import events_pb2

from .decode import DecodedBlock, MissingRecord, decode_block
from .store import SupervisionStore

__all__ = ["FeedProgress", "LedgerFeed", "NetworkLike"]


class _Stream(Iterator[events_pb2.BlockAndPrivateData], AbstractContextManager["_Stream"], Protocol):
    def close(self) -> None: ...


class NetworkLike(Protocol):
    """What the feed needs of a ``fabrx.Network``."""

    @property
    def name(self) -> str: ...

    def block_and_private_data_events(
        self, *, start_block: int | None = ..., timeout: float | None = ...
    ) -> _Stream: ...


@dataclass(frozen=True)
class FeedProgress:
    """What one :meth:`LedgerFeed.run` applied."""

    blocks: int
    writes: int
    last_block: int | None
    missing: tuple[MissingRecord, ...]
    """Anchors whose private copy this peer did not hand over (not readable here, or not yet)."""


class LedgerFeed:
    """Feeds ``store`` from ``network`` (a channel seen through the member's own peer).

    ``feed`` names the checkpoint (default: the channel name); ``namespace`` is the pharma chaincode.
    """

    def __init__(
        self,
        store: SupervisionStore,
        network: NetworkLike,
        *,
        namespace: str = "pharma",
        feed: str | None = None,
    ) -> None:
        self._store = store
        self._network = network
        self._namespace = namespace
        self._feed = feed or network.name

    @property
    def feed(self) -> str:
        return self._feed

    def run(
        self,
        *,
        until_block: int | None = None,
        stop: Callable[[], bool] | None = None,
        timeout: float | None = None,
        max_blocks: int = 100,
        on_applied: Callable[[int], None] | None = None,
    ) -> FeedProgress:
        """Apply blocks from the one after the checkpoint until block ``until_block`` is applied, ``stop()``
        returns true after a range of blocks, or ``timeout`` seconds pass (then the stream raises
        ``GatewayError``; what was applied stays applied).

        A reader thread takes the blocks off the stream and decodes them; the blocks that arrived while
        the previous range was being applied (at most ``max_blocks``) are applied together, in one
        database transaction with their checkpoint (:meth:`SupervisionStore.apply_blocks`), so a feed
        that falls behind catches up in ranges instead of one transaction per block. ``on_applied`` is
        called with the last block number after each range is committed.

        Raises :class:`~fabrx_pharma_supervision.decode.BlockUndecodable` for a block it cannot read,
        :class:`~fabrx_pharma_supervision.errors.StoreUnavailable` if the database fails, and the
        stream's ``FabrxError`` when the peer cannot be reached for good; the checkpoint is the last
        block applied in each case.
        """
        if max_blocks < 1:
            raise ValueError("max_blocks must be at least 1")
        checkpoint = self._store.checkpoint(self._feed)
        start = 0 if checkpoint is None else checkpoint + 1
        blocks = writes = 0
        last = checkpoint
        missing: list[MissingRecord] = []
        if until_block is not None and checkpoint is not None and checkpoint >= until_block:
            return FeedProgress(0, 0, checkpoint, ())
        with self._network.block_and_private_data_events(start_block=start, timeout=timeout) as events:
            reader = _Reader(events, self._namespace, until_block)
            try:
                while True:
                    decoded = reader.take(max_blocks)
                    if not decoded:
                        break
                    applied = self._store.apply_blocks([d.block for d in decoded], feed=self._feed)
                    if applied:
                        blocks += applied
                        for item in decoded[len(decoded) - applied :]:
                            writes += len(item.block.writes)
                            missing += item.missing
                    last = decoded[-1].block.number
                    if on_applied is not None:
                        on_applied(last)
                    if (until_block is not None and last >= until_block) or (stop is not None and stop()):
                        break
            finally:
                events.close()
                reader.join()
        return FeedProgress(blocks, writes, last, tuple(missing))


_END = object()


class _Reader:
    """Takes blocks off the stream and decodes them in a thread of its own, into a queue."""

    def __init__(self, events: _Stream, namespace: str, until_block: int | None) -> None:
        self._events = events
        self._namespace = namespace
        self._until = until_block
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1_000)
        self._done = False
        self._closing = False
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="ledger-feed-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for data in self._events:
                if self._closing:
                    return
                decoded = decode_block(data, namespace=self._namespace)
                self._queue.put(decoded)
                if self._until is not None and decoded.block.number >= self._until:
                    break
        except BaseException as exc:  # handed to the applying thread, which raises it
            self._queue.put(exc)
        self._queue.put(_END)

    def take(self, most: int) -> list[DecodedBlock]:
        """The next blocks (waiting for the first, then whatever is queued, up to ``most``); an empty list
        when the stream ended. Raises what the reader met."""
        taken: list[DecodedBlock] = []
        while len(taken) < most and not self._done:
            try:
                item = self._queue.get() if not taken else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _END:
                self._done = True
            elif isinstance(item, BaseException):
                self._done = True
                if taken:
                    # Apply what came before the failure first; raise at the next take.
                    self._failure = item
                    break
                raise item
            else:
                assert isinstance(item, DecodedBlock)
                taken.append(item)
        if not taken and self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        return taken

    def join(self) -> None:
        """Wait for the thread (call after closing the stream; what it still queued is dropped)."""
        self._closing = True
        for _ in range(100):  # a closed stream ends at once; a daemon thread is left after 10 s
            if not self._thread.is_alive():
                break
            try:
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=0.1)
