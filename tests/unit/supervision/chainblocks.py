"""The sample story written by the real pharma chaincode on an in-memory channel, as Fabric blocks with
private data: what a peer's Deliver service hands the feed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import events_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2

from fabrx_pharma import AdverseEvent, AnyRecord, Batch, Invoice, Party, Prescription, Receipt
from fabrx_pharma.sample import build_sample_scenario
from fabrx_pharma_chaincode import (
    INVOICE_TRANSIENT_KEY,
    RECORD_TRANSIENT_KEY,
    ROLE_ATTRIBUTE,
    PharmaService,
    composite_key,
    endorsing_organizations,
    implicit_collection,
)
from fabrx_pharma_chaincode.testing import MemoryChannel, MemoryStore

SCENARIO = build_sample_scenario()


def _call(record: AnyRecord) -> tuple[Callable[[PharmaService], object], bool]:
    data = record.to_json()
    if isinstance(record, Party):
        return (lambda s: s.register_party(data)), False
    if isinstance(record, Batch):
        return PharmaService.record_batch, True
    if isinstance(record, Invoice):
        return PharmaService.issue_invoice, True
    if isinstance(record, Receipt):
        return PharmaService.record_receipt, True
    if isinstance(record, Prescription):
        return PharmaService.record_prescription, True
    if isinstance(record, AdverseEvent):
        return PharmaService.report_adverse_event, True
    return (lambda s: s.register_product(data)), False


def sample_transactions() -> list[MemoryStore]:
    """Every committed transaction of the sample story, bootstrap first, each endorsed as the facades
    endorse it (the writer's host and the regulator) on the in-memory channel."""
    parties = [SCENARIO.regulator, *(r for _, r in SCENARIO.writes if isinstance(r, Party))]
    roles = {p.party_id: p.role.value for p in parties}
    regulator = SCENARIO.regulator
    channel = MemoryChannel.with_members([p.host_msp_id for p in parties], regulator.party_id)
    done: list[MemoryStore] = []

    def run(msp_id: str, call: Callable[[PharmaService], object], transient: dict[str, bytes] | None) -> None:
        ran: list[MemoryStore] = []

        def action(store: MemoryStore) -> object:
            ran.append(store)
            return call(PharmaService(store))

        channel.endorse(
            msp_id,
            endorsing_organizations(msp_id, regulator.party_id),
            action,
            attributes={ROLE_ATTRIBUTE: roles[msp_id]},
            transient=transient,
        )
        done.append(ran[0])

    run(regulator.party_id, lambda s: s.bootstrap(regulator.to_json(), None), None)
    for submitter, record in SCENARIO.writes:
        call, private = _call(record)
        transient = {RECORD_TRANSIENT_KEY: record.to_json()} if private else None
        if isinstance(record, Receipt) and transient is not None:
            copy = channel.value(
                implicit_collection(regulator.party_id), composite_key("invoice", str(record.invoice_number))
            )
            if copy is not None:
                transient[INVOICE_TRANSIENT_KEY] = copy
        run(submitter, call, transient)
    return done


def _kv(writes: Iterable[tuple[str, bytes]]) -> bytes:
    return kv_rwset_pb2.KVRWSet(
        writes=[kv_rwset_pb2.KVWrite(key=k, value=v) for k, v in writes]
    ).SerializeToString()


def _envelope(store: MemoryStore, namespace: str, header_type: int) -> bytes:
    results = rwset_pb2.TxReadWriteSet(
        ns_rwset=[rwset_pb2.NsReadWriteSet(namespace=namespace, rwset=_kv(store.writes.items()))]
    ).SerializeToString()
    action = transaction_pb2.ChaincodeActionPayload(
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=proposal_response_pb2.ProposalResponsePayload(
                extension=proposal_pb2.ChaincodeAction(results=results).SerializeToString()
            ).SerializeToString()
        )
    )
    transaction = transaction_pb2.Transaction(
        actions=[transaction_pb2.TransactionAction(payload=action.SerializeToString())]
    )
    header = common_pb2.ChannelHeader(type=header_type, tx_id=store.transaction_id, channel_id="pharma")
    header.timestamp.FromDatetime(store.timestamp)
    signature = common_pb2.SignatureHeader(
        creator=identities_pb2.SerializedIdentity(mspid=store.creator_msp_id).SerializeToString()
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=header.SerializeToString(), signature_header=signature.SerializeToString()
        ),
        data=transaction.SerializeToString(),
    )
    return common_pb2.Envelope(payload=payload.SerializeToString()).SerializeToString()


def block_of(
    number: int,
    stores: Sequence[MemoryStore],
    *,
    readable: Callable[[str], bool] = lambda collection: True,
    rename: Callable[[str], str] = lambda collection: collection,
    invalid: Iterable[int] = (),
    namespace: str = "pharma",
    header_type: int = common_pb2.HeaderType.Value("ENDORSER_TRANSACTION"),
) -> events_pb2.BlockAndPrivateData:
    """A block of these transactions with the private data a peer that may read ``readable`` collections
    hands over (collections renamed by ``rename``); transactions at ``invalid`` indexes flagged invalid."""
    block = common_pb2.Block()
    block.header.number = number
    flags = bytearray()
    data = events_pb2.BlockAndPrivateData()
    bad = set(invalid)
    for index, store in enumerate(stores):
        block.data.data.append(_envelope(store, namespace, header_type))
        flags.append(11 if index in bad else 0)  # 11: MVCC_READ_CONFLICT
        collections: dict[str, list[tuple[str, bytes]]] = {}
        for (collection, key), value in store.private_writes.items():
            if readable(collection):
                collections.setdefault(rename(collection), []).append((key, value))
        if collections:
            data.private_data_map[index].CopyFrom(
                rwset_pb2.TxPvtReadWriteSet(
                    ns_pvt_rwset=[
                        rwset_pb2.NsPvtReadWriteSet(
                            namespace=namespace,
                            collection_pvt_rwset=[
                                rwset_pb2.CollectionPvtReadWriteSet(collection_name=name, rwset=_kv(writes))
                                for name, writes in collections.items()
                            ],
                        )
                    ]
                )
            )
    for _ in range(5):
        block.metadata.metadata.append(b"")
    block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER] = bytes(flags)
    data.block.CopyFrom(block)
    return data
