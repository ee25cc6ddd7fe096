"""The chaincode event value delivered to listeners."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChaincodeEvent:
    """An event a chaincode emitted in a transaction that committed as valid in ``block_number``."""

    block_number: int
    transaction_id: str
    chaincode_name: str
    event_name: str
    payload: bytes
