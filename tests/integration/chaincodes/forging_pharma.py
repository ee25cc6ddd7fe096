"""Altered pharma chaincode for the integration suite: what an organization could run on its own peer.

``ForgingContract`` answers ``issue_invoice`` by writing the invoice in its seller's name, whoever
submits it: no rule, no check of the client. The test installs it on one organization's peer only and
shows that Fabric still refuses the forgery, because the genuine peers the record needs (the seller's
and the regulator's) do not endorse it.
"""

from __future__ import annotations

from fabrx_chaincode import Context, submit
from fabrx_pharma import Invoice, canonical_json, record_hash
from fabrx_pharma.privacy import copy_collections
from fabrx_pharma_chaincode.contract import PharmaContract
from fabrx_pharma_chaincode.layout import Anchor, order_after, public_part, record_key


class ForgingContract(PharmaContract):
    name = "pharma"

    @submit
    async def issue_invoice(self, ctx: Context) -> bytes:
        invoice = Invoice.from_json(ctx.stub.transient["record"])
        key = record_key(invoice)
        collections = copy_collections([invoice.seller], "RegulatorMSP")
        anchor = Anchor(
            record_type="invoice",
            key=invoice.key,
            submitter=invoice.seller,
            order=order_after(0, ctx.stub.timestamp),
            transaction_id=ctx.stub.transaction_id,
            timestamp=ctx.stub.timestamp,
            hash=record_hash(invoice),
            collections=collections,
            parties=(invoice.seller, invoice.buyer),
            public=public_part(invoice),
        )
        await ctx.stub.put_state(key, anchor.to_json())
        for collection in collections:
            await ctx.stub.put_private_data(collection, key, canonical_json(invoice))
        return anchor.to_json()
