"""The feed: a member's own peer's blocks (with the private data it may read) into its store.

:class:`LedgerFeed` opens ``block_and_private_data_events`` on a ``fabrx`` Network from the block after
the store's checkpoint, decodes each block (:func:`~fabrx_pharma_supervision.decode.decode_block`) and
applies it with :meth:`SupervisionStore.apply`, which writes the rows and the checkpoint in one database
transaction. Every block is applied, config blocks and blocks of other chaincodes included (with no
writes), so the checkpoint follows the chain; a feed killed at any point resumes from the checkpoint
with no gap and no duplicate. The event stream itself reconnects after a peer restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from fabric_protos.peer import events_pb2

from .decode import MissingRecord, decode_block
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
    ) -> FeedProgress:
        """Apply blocks from the one after the checkpoint until block ``until_block`` is applied, ``stop()``
        returns true after a block, or ``timeout`` seconds pass (then the stream raises
        ``GatewayError``; what was applied stays applied).

        Raises :class:`~fabrx_pharma_supervision.decode.BlockUndecodable` for a block it cannot read,
        :class:`~fabrx_pharma_supervision.errors.StoreUnavailable` if the database fails, and the
        stream's ``FabrxError`` when the peer cannot be reached for good; the checkpoint is the last
        block applied in each case.
        """
        checkpoint = self._store.checkpoint(self._feed)
        start = 0 if checkpoint is None else checkpoint + 1
        blocks = writes = 0
        last = checkpoint
        missing: list[MissingRecord] = []
        if until_block is not None and checkpoint is not None and checkpoint >= until_block:
            return FeedProgress(0, 0, checkpoint, ())
        with self._network.block_and_private_data_events(start_block=start, timeout=timeout) as events:
            for data in events:
                decoded = decode_block(data, namespace=self._namespace)
                if self._store.apply(decoded.block, feed=self._feed):
                    blocks += 1
                    writes += len(decoded.block.writes)
                    missing += decoded.missing
                last = decoded.block.number
                if (until_block is not None and last >= until_block) or (stop is not None and stop()):
                    break
        return FeedProgress(blocks, writes, last, tuple(missing))
