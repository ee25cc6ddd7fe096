from __future__ import annotations

import pytest
from bench.netup import InstallCost, NetworkRun, joined_seconds, network_figures
from bench.render_suites import render_network_section

STEPS = (
    ("render", 0.1),
    ("certificate authorities", 1.5),
    ("identities", 3.0),
    ("genesis blocks", 0.1),
    ("orderers and peers", 0.5),
    ("channels", 0.3),
    ("chaincode pharma", 4.0),
    ("gossip convergence", 0.5),
)
META = {
    "command": "python -m bench --suite network",
    "date": "2026-11-25 22:00 UTC",
    "machine": {"nproc": 2, "cpu_model": "AMD EPYC", "memory_gib": 23.5, "kernel": "6.1", "python": "3.11.7"},
    "network": "network/consortium.yaml",
}


def test_joined_seconds_sums_the_steps_up_to_and_including_channels() -> None:
    assert joined_seconds(STEPS) == pytest.approx(5.5)


def test_joined_seconds_refuses_steps_without_channels() -> None:
    with pytest.raises(ValueError, match="channels"):
        joined_seconds(STEPS[:3])


def test_network_figures_are_medians_and_skip_unmeasured_restarts() -> None:
    runs = [
        NetworkRun(steps=STEPS, up_s=10.0, restart_s=None),
        NetworkRun(steps=STEPS, up_s=12.0, restart_s=6.0),
        NetworkRun(steps=STEPS, up_s=11.0, restart_s=8.0),
    ]
    figures = network_figures(runs, install=None)
    assert figures["up_ready_s"] == 11.0
    assert figures["up_joined_s"] == 5.5
    assert figures["restart_s"] == 7.0
    assert figures["install_s"] is None
    assert figures["runs"] == 3
    assert figures["steps"][0]["up"][0] == ["render", 0.1]


def test_network_figures_carry_the_hand_measured_install_cost() -> None:
    install = InstallCost(seconds=150.0, command="fabrx fabric install", date="2026-11-25")
    figures = network_figures([NetworkRun(steps=STEPS, up_s=10.0, restart_s=5.0)], install=install)
    assert figures["install_s"] == 150.0
    assert figures["install"]["command"] == "fabrx fabric install"


def test_network_figures_refuse_no_runs() -> None:
    with pytest.raises(ValueError):
        network_figures([])


def test_network_section_states_each_figure_against_its_goal() -> None:
    figures = network_figures([NetworkRun(steps=STEPS, up_s=16.0, restart_s=5.0)], install=None)
    text = render_network_section(figures, META)
    assert "| up until every peer has joined | 5.5 s | ≤ 10.0 s | met |" in text
    assert "| up with the chaincode ready | 16.0 s | ≤ 15.0 s | **missed** |" in text
    assert "python -m bench --suite network" in text
    assert "not measured yet" in text
