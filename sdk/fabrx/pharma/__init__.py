"""fabrx.pharma: the two-invoice supervision chaincode as each role uses it.

One facade per role over the ``pharma`` contract — :class:`Regulator`, :class:`Manufacturer`,
:class:`Distributor`, :class:`Hospital` — built from a :class:`fabrx.Contract` and the caller's MSP id::

    contract = gateway.get_network("pharma").get_contract("pharma")
    hospital = Hospital(contract, "HospitalAMSP")
    result = hospital.verify_invoice(number, first_invoices=[copy_from_distributor])

Facades take ``fabrx_pharma`` records, validate them with the domain code before sending (a malformed
record raises :class:`RecordInvalid` and never reaches the network), put private records in the
transient map, name the endorsing organizations (own and the regulator) and return typed results.
Chaincode refusals become :class:`PharmaError` with ``rule`` and ``field``.

:class:`PharmaClients` opens the facades of every organization of a running consortium;
:mod:`fabrx.pharma.scenario` is the end-to-end demo behind ``fabrx demo``.
"""

from ._base import ContractLike, PharmaClient
from ._errors import AccessRefused, PharmaError, RecordInvalid, RecordNotFound, refusal_from
from ._results import Anchor, CopyCheck, Discrepancy, InvoiceVerification, TraceCodeStatus
from .clients import NetworkLike, PharmaClients
from .distributor import Distributor
from .hospital import Hospital
from .manufacturer import Manufacturer
from .regulator import Regulator

__all__ = [
    "AccessRefused",
    "Anchor",
    "ContractLike",
    "CopyCheck",
    "Discrepancy",
    "Distributor",
    "Hospital",
    "InvoiceVerification",
    "Manufacturer",
    "NetworkLike",
    "PharmaClient",
    "PharmaClients",
    "PharmaError",
    "RecordInvalid",
    "RecordNotFound",
    "Regulator",
    "TraceCodeStatus",
    "refusal_from",
]
