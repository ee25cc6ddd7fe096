"""The distributions `make dist` builds cover the repository's packages exactly once, with sound metadata."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import tomllib
from collections import Counter
from pathlib import Path
from types import ModuleType

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[3]
SOURCE_ROOTS = ("sdk", "domain", "chaincode", "network", "cli")


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fabrx_dist_build", REPO / "distributions" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


build = _build_script()


def _root_project() -> dict:
    with (REPO / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _top_level_packages() -> list[Path]:
    where = _root_project()["tool"]["setuptools"]["packages"]["find"]["where"]
    return sorted(p.parent for root in where for p in (REPO / root).glob("*/__init__.py"))


def test_every_module_and_data_file_of_the_repository_ships_in_exactly_one_distribution() -> None:
    shipped = Counter(
        source.relative_to(REPO) for dist in build.distributions() for source, _ in dist.sources()
    )
    expected = {
        f.relative_to(REPO)
        for package in _top_level_packages()
        for f in package.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts
    }
    assert sorted(expected - set(shipped)) == [], "files no distribution ships (add them to an include)"
    assert sorted(p for p, n in shipped.items() if n > 1) == []
    assert shipped[Path("network/consortium.yaml")] == 1


def test_the_generic_distributions_ship_nothing_of_the_pharma_application() -> None:
    for dist in build.distributions(["fabrx", "fabrx-chaincode", "fabrx-network"]):
        targets = [str(target) for _, target in dist.sources()]
        assert [t for t in targets if "pharma" in t.removesuffix("consortium.yaml")] == [], dist.name


def test_each_command_module_ships_with_the_distribution_that_registers_it() -> None:
    registered = _root_project()["project"]["entry-points"]["fabrx.cli"]
    generic = {"chaincode", "channel", "fabric", "member", "network"}  # imported by fabrx_cli.main itself
    for dist in build.distributions():
        with (dist.folder / "pyproject.toml").open("rb") as f:
            declared = tomllib.load(f)["project"].get("entry-points", {}).get("fabrx.cli", {})
        shipped = {
            str(target.with_suffix("")).replace("/", ".")
            for _, target in dist.sources()
            if target.parent == Path("fabrx_cli") and target.suffix == ".py"
        }
        for module in shipped - {"fabrx_cli.__init__", "fabrx_cli.main", "fabrx_cli._output"}:
            name = module.removeprefix("fabrx_cli.")
            if name in generic:
                assert dist.name == "fabrx-network", module
            else:
                assert declared.get(name) == registered.get(name) == module, (dist.name, module)


def test_distributions_declare_the_development_install_s_ranges_and_each_other_at_the_same_release() -> None:
    root_project = _root_project()["project"]
    runtime = root_project["dependencies"] + [
        r for extra, group in root_project["optional-dependencies"].items() if extra != "dev" for r in group
    ]
    root = {Requirement(r).name: Requirement(r) for r in runtime}
    ours = {d.name for d in build.distributions()}
    for dist in build.distributions():
        with (dist.folder / "pyproject.toml").open("rb") as f:
            project = tomllib.load(f)["project"]
        assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
        assert project["readme"] == "README.md" and (dist.folder / "README.md").is_file()
        assert project["requires-python"] == _root_project()["project"]["requires-python"]
        assert "Typing :: Typed" in project["classifiers"]
        extras = [r for group in project.get("optional-dependencies", {}).values() for r in group]
        for text in project["dependencies"] + extras:
            requirement = Requirement(text.replace("{version}", "0"))
            if requirement.name in ours:
                assert text.endswith("=={version}"), text
            else:
                assert requirement.specifier == root[requirement.name].specifier, (dist.name, text)
                assert "==" not in str(requirement.specifier), f"{dist.name}: pin {text} in constraints.txt"


def test_the_lock_pins_every_runtime_dependency_exactly() -> None:
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            requirement = Requirement(line)
            assert str(requirement.specifier).startswith("=="), line
            pins[requirement.name.lower().replace("_", "-")] = requirement
    for text in _root_project()["project"]["dependencies"]:
        requirement = Requirement(text)
        pinned = pins[requirement.name.lower()]
        version = str(pinned.specifier).removeprefix("==")
        assert requirement.specifier.contains(version, prereleases=True), (text, version)


def test_every_top_level_package_is_typed_versioned_and_free_of_symlinks() -> None:
    version = _root_project()["project"]["version"]
    for package in _top_level_packages():
        assert (package / "py.typed").is_file(), package
        assert [p for p in package.rglob("*") if p.is_symlink()] == [], package
        assert importlib.import_module(package.name).__version__ == version, package.name
