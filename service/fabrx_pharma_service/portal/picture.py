"""The trace of an adverse event drawn as a picture: raw lots → batch → manufacturer → distributors →
hospital → prescription, laid out in columns for an inline SVG (no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass

from fabrx_pharma import Trace

__all__ = ["Edge", "Node", "Picture", "trace_picture"]

COLUMN_WIDTH = 190
ROW_HEIGHT = 70
NODE_WIDTH = 160
NODE_HEIGHT = 44
MARGIN = 20


@dataclass(frozen=True)
class Node:
    key: str
    kind: str
    """``lot``, ``batch``, ``manufacturer``, ``distributor``, ``hospital`` or ``prescription``."""
    label: str
    detail: str
    x: int
    y: int


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Picture:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: int
    height: int


def trace_picture(trace: Trace) -> Picture:
    """Lay out one trace: each column a stage, each node a box, edges from each stage to the next along
    the invoice chains."""
    columns: list[list[tuple[str, str, str, str]]] = [
        [
            ("lot:" + lot.lot, "lot", lot.material, f"{lot.lot} · {lot.supplier}")
            for lot in trace.raw_material_lots
        ],
        [("batch", "batch", f"{trace.product_id} / {trace.batch_number}", _expiry(trace))],
        [
            (
                "manufacturer",
                "manufacturer",
                _name(trace),
                trace.manufacturer.key if trace.manufacturer else "?",
            )
        ],
        [("dist:" + d, "distributor", d, "") for d in trace.distributors],
        [("hospital", "hospital", trace.hospital, "")],
        [("rx", "prescription", trace.prescription_id, f"× {trace.quantity}")],
    ]
    columns = [column for column in columns if column]
    rows = max(len(column) for column in columns)
    nodes: dict[str, Node] = {}
    for c, column in enumerate(columns):
        offset = (rows - len(column)) * ROW_HEIGHT // 2
        for r, (key, kind, label, detail) in enumerate(column):
            nodes[key] = Node(
                key, kind, label, detail, MARGIN + c * COLUMN_WIDTH, MARGIN + offset + r * ROW_HEIGHT
            )
    links: list[tuple[str, str]] = [("lot:" + lot.lot, "batch") for lot in trace.raw_material_lots]
    links.append(("batch", "manufacturer"))
    for chain in trace.chains:
        previous = "manufacturer"
        for hop in chain:
            target = "hospital" if hop.buyer == trace.hospital else "dist:" + hop.buyer
            links.append((previous, target))
            previous = target
    if not trace.chains:
        links.append(("manufacturer", "hospital"))
    links.append(("hospital", "rx"))
    edges = []
    for source, target in dict.fromkeys(links):
        a, b = nodes.get(source), nodes.get(target)
        if a is not None and b is not None:
            edges.append(Edge(a.x + NODE_WIDTH, a.y + NODE_HEIGHT // 2, b.x, b.y + NODE_HEIGHT // 2))
    width = 2 * MARGIN + (len(columns) - 1) * COLUMN_WIDTH + NODE_WIDTH
    height = 2 * MARGIN + (rows - 1) * ROW_HEIGHT + NODE_HEIGHT
    return Picture(tuple(nodes.values()), tuple(edges), width, height)


def _name(trace: Trace) -> str:
    return trace.manufacturer.name if trace.manufacturer else "?"


def _expiry(trace: Trace) -> str:
    return f"→ {trace.batch.expiry_date.isoformat()}" if trace.batch else ""
