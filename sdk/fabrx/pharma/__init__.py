"""fabrx.pharma: the two-invoice supervision chaincode as each role uses it.

One facade per role over the ``pharma`` contract — :class:`Regulator`, :class:`Manufacturer`,
:class:`Distributor`, :class:`Hospital` — built from a :class:`fabrx.Contract` and the party the client
acts for: a member organization by its MSP id, a party hosted on a member's node by its party id and
its host's MSP id::

    contract = gateway.get_network("pharma").get_contract("pharma")
    hospital = Hospital(contract, "HospitalAMSP")
    clinic = Hospital(clinic_contract, "CLINIC-0001", msp_id="CityHostMSP")  # enrolled with fabrx.party
    result = hospital.verify_invoice(number, first_invoices=[copy_from_distributor])

Facades take ``fabrx_pharma`` records, validate them with the domain code before sending (a malformed
record raises :class:`RecordInvalid` and never reaches the network), put private records in the
transient map (a receipt with the invoice it receives), name the endorsing organizations (the party's
host and the regulator, :func:`fabrx_pharma.privacy.endorsing_organizations`), read private records on
the own peer or, when it keeps no copy, on the regulator's, and return typed results. Chaincode
refusals become :class:`PharmaError` with ``rule`` and ``field``.

:class:`PharmaClients` opens the facades of every organization of a running consortium (and of hosted
parties, :meth:`PharmaClients.hosted`); :mod:`fabrx.pharma.scenario` is the end-to-end demo behind
``fabrx demo``.
"""

from ._base import ContractLike, PharmaClient
from ._bulk import BulkResult, Refused
from ._errors import AccessRefused, PharmaError, RecordInvalid, RecordNotFound, refusal_from
from ._results import Anchor, Change, CopyCheck, Discrepancy, InvoiceVerification, TraceCodeStatus
from .clients import NetworkLike, PharmaClients
from .distributor import Distributor
from .hospital import Hospital
from .manufacturer import Manufacturer
from .regulator import Regulator

__all__ = [
    "AccessRefused",
    "Anchor",
    "BulkResult",
    "Change",
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
    "Refused",
    "Regulator",
    "TraceCodeStatus",
    "refusal_from",
]
