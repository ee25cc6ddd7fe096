"""The regulator's queries answered from a supervision store, when the service is given one.

The chaincode answers the regulator's report, diversion signals, traces and recall scopes by reading the
whole ledger on every call; a supervision store (``fabrx_pharma_supervision``) answers the same from its
relational projection, kept current by its feed. :class:`StoreQueries` has the regulator facade's
method names, so the routes call either; answers from the store carry the header
``Fabrx-Source: supervision-store; checkpoint=<last block applied>``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from fabrx.errors import FabrxError
from fabrx.pharma import PharmaError
from fabrx_pharma import Finding, RecallScope, Trace
from fabrx_pharma_chaincode.supervision import DIVERSION_RULES

__all__ = ["SOURCE_HEADER", "BackgroundFeed", "StoreQueries", "SupervisionLike"]

_log = logging.getLogger(__name__)

SOURCE_HEADER = "Fabrx-Source"


class SupervisionLike(Protocol):
    """What the service reads of a ``fabrx_pharma_supervision.SupervisionStore``."""

    def checkpoint(self) -> int | None: ...
    def compliance_report(self, *, as_of: datetime | None = None) -> list[Finding]: ...
    def trace_prescription(
        self, *, prescription_id: str | None = None, patient_pseudonym: str | None = None
    ) -> tuple[Trace, ...]: ...
    def recall_scope(self, product_id: str, batch_number: str) -> RecallScope: ...
    def code_chain(self, trace_code: str) -> Any: ...
    def purchases(
        self, party_id: str, *, product_id: str | None = None, batch_number: str | None = None
    ) -> Any: ...
    def invoices(self, party_id: str, *, side: str = "both", limit: int = 100) -> Any: ...


class StoreQueries:
    """The regulator facade's queries over a supervision store."""

    def __init__(self, store: SupervisionLike) -> None:
        self._store = store

    def checkpoint(self) -> int | None:
        """The number of the last block the store applied (``None`` before the first)."""
        return self._store.checkpoint()

    def source(self) -> str:
        """The value of the :data:`SOURCE_HEADER` of an answer from the store."""
        checkpoint = self.checkpoint()
        return f"supervision-store; checkpoint={'none' if checkpoint is None else checkpoint}"

    def compliance_report(self, *, as_of: datetime | None = None) -> list[Finding]:
        return self._store.compliance_report(as_of=as_of)

    def diversion_signals(self, *, as_of: datetime | None = None) -> list[Finding]:
        return [f for f in self._store.compliance_report(as_of=as_of) if f.rule in DIVERSION_RULES]

    def trace(
        self, *, prescription_id: str | None = None, patient_pseudonym: str | None = None
    ) -> tuple[Trace, ...]:
        if (prescription_id is None) == (patient_pseudonym is None):
            raise PharmaError(
                "RECORD", "prescription_id", "give exactly one of prescription_id and patient_pseudonym"
            )
        return self._store.trace_prescription(
            prescription_id=prescription_id, patient_pseudonym=patient_pseudonym
        )

    def recall_scope(self, product_id: str, batch_number: str) -> RecallScope:
        return self._store.recall_scope(product_id, batch_number)

    def purchases(
        self, party_id: str, *, product_id: str | None = None, batch_number: str | None = None
    ) -> list[Any]:
        """What ``party_id`` bought, per seller, invoice kind and batch (the store's ``purchases``)."""
        return list(self._store.purchases(party_id, product_id=product_id, batch_number=batch_number))

    def invoices(self, party_id: str, *, side: str = "both", limit: int = 100) -> list[Any]:
        """``party_id``'s invoices, newest first (the store's ``invoices``): numbers, kinds, parties,
        issue dates and totals."""
        return list(self._store.invoices(party_id, side=side, limit=limit))

    def package(self, trace_code: str, facade: Any) -> dict[str, str] | None:
        """What one package is, in public terms (product, manufacturer, batch, expiry, recall), or ``None``
        when the store knows no shipment or dispensing of it. Nothing about who bought or received it."""
        try:
            chain = self._store.code_chain(trace_code)
        except KeyError:  # the store's NotFound is also a KeyError
            return None
        if chain.product_id is None or chain.batch_number is None:
            return None
        product = facade.read_product(chain.product_id)
        return {
            "product": f"{product.name} ({product.approval_number})",
            "manufacturer": chain.manufacturer.name if chain.manufacturer else product.manufacturer,
            "batch_number": chain.batch_number,
            "expiry": chain.batch.expiry_date.isoformat() if chain.batch else "",
            "recall": ""
            if chain.recall is None
            else f"{chain.recall.recalled_at.date()} {chain.recall.reason}",
        }


class BackgroundFeed:
    """Keeps a supervision store current from the member's own peer, in a background thread.

    ``run()`` is ``LedgerFeed(store, network).run``-like: it applies blocks until told to stop. The
    thread feeds in rounds of at most ``round_seconds`` (a round without blocks ends when the event
    stream times out), so :meth:`stop` returns within a round; a round that fails (the peer
    unreachable, the database down) is logged and retried after ``retry_seconds``. Every block applied
    stays applied: the store's checkpoint is the resume point.
    """

    def __init__(
        self,
        feed: Callable[[Callable[[], bool], float], object],
        *,
        round_seconds: float = 5.0,
        retry_seconds: float = 2.0,
    ) -> None:
        self._feed = feed
        self._round = round_seconds
        self._retry = retry_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fabrx-supervision-feed", daemon=True)

    def start(self) -> BackgroundFeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._round + self._retry + 30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._feed(self._stop.is_set, self._round)
            except FabrxError as exc:
                if getattr(exc, "code", "") != "DEADLINE_EXCEEDED" and "deadline" not in str(exc).lower():
                    _log.warning("supervision feed round failed (%s); retrying", exc)
                    self._stop.wait(self._retry)
            except Exception as exc:  # the store or a block: keep serving, say why
                _log.warning("supervision feed round failed (%s: %s); retrying", type(exc).__name__, exc)
                self._stop.wait(self._retry)
