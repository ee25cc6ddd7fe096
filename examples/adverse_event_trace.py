"""Trace an adverse reaction back to the batch, the manufacturer and its raw-material lots.

    .venv/bin/python examples/adverse_event_trace.py                   # the demo's patient
    .venv/bin/python examples/adverse_event_trace.py --prescription RX-A-0002

By default the patient of the demo's adverse reaction: the hospital turns its own patient id into the
pseudonym (keyed; the ledger never holds the id) and the regulator traces every prescription of that
pseudonym. Then the recall scope of each traced batch: who else received it, which patients to follow.
"""

from __future__ import annotations

import argparse

from fabrx.pharma import PharmaClients
from fabrx_network import open_network
from fabrx_pharma import pseudonymise, render_recall_scope, render_trace
from fabrx_pharma.sample import SAMPLE_PSEUDONYM_KEY

DEMO_PATIENT = "350102199205052345"
"""The (invented) id number of the demo's patient with the adverse reaction."""


def main() -> None:
    parser = argparse.ArgumentParser(description="Trace an adverse reaction as the regulator.")
    parser.add_argument("--prescription", help="prescription id (default: every prescription of the patient)")
    parser.add_argument("--patient-id", default=DEMO_PATIENT, help="patient id, pseudonymised locally")
    args = parser.parse_args()
    with PharmaClients(open_network()) as clients:
        regulator = clients.regulator
        if args.prescription:
            traces = regulator.trace(prescription_id=args.prescription)
        else:
            traces = regulator.trace(patient_pseudonym=pseudonymise(SAMPLE_PSEUDONYM_KEY, args.patient_id))
        for trace in traces:
            print(render_trace(trace))
        for product_id, batch_number in dict.fromkeys(
            (t.product_id, t.batch_number) for t in traces if t.adverse_events
        ):
            print(render_recall_scope(regulator.recall_scope(product_id, batch_number)))


if __name__ == "__main__":
    main()
