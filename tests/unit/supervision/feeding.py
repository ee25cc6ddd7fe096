"""Helpers of the supervision tests: a ledger's writes as blocks, and the domain's answers to compare."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from fabrx_pharma import AnyRecord, Finding, InMemoryLedger
from fabrx_pharma_supervision import LedgerBlock, LedgerWrite

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def blocks_of(
    writes: Iterable[tuple[str, AnyRecord]], *, per_block: int = 1, first: int = 0
) -> list[LedgerBlock]:
    """(submitter, record) pairs as consecutive blocks of ``per_block`` writes, one transaction each."""
    pending: list[LedgerWrite] = []
    blocks: list[LedgerBlock] = []
    for n, (submitter, record) in enumerate(writes):
        pending.append(LedgerWrite(record, submitter, f"tx-{n:08d}", T0 + timedelta(seconds=n), n + 1))
        if len(pending) == per_block:
            blocks.append(LedgerBlock(first + len(blocks), tuple(pending)))
            pending = []
    if pending:
        blocks.append(LedgerBlock(first + len(blocks), tuple(pending)))
    return blocks


def ledger_writes(ledger: InMemoryLedger) -> list[tuple[str, AnyRecord]]:
    return [(entry.submitter, entry.record) for entry in ledger.entries]


def same_findings(store_findings: list[Finding], domain_findings: list[Finding]) -> bool:
    """The same findings, each once (the store lists whole-ledger findings in its own order)."""
    return (
        len(store_findings) == len(set(store_findings))
        and set(store_findings) == set(domain_findings)
        and len(store_findings) == len(domain_findings)
    )
