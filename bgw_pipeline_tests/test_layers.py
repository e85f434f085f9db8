"""The package's import graph: one-way layers (pyproject.toml's import contracts), no
circles between modules, and every folder of the core placed in a layer."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "bgw_pipeline" / "core"


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def test_the_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(_contracts())} kept, 0 broken" in proc.stdout


def test_every_folder_of_the_core_stands_in_a_layer() -> None:
    """A new folder cannot slip past the layers contract by not being named in it."""
    (core_layers,) = [c for c in _contracts() if c.get("containers") == ["bgw_pipeline.core"]]
    named = {name.strip() for layer in core_layers["layers"] for name in layer.split("|")}
    folders = {p.name for p in CORE.iterdir() if (p / "__init__.py").exists()}
    assert folders == named
    assert not [p.name for p in CORE.glob("*.py") if p.name != "__init__.py"], (
        "a module loose in core/ belongs in one of its folders"
    )


def test_no_two_modules_import_each_other_even_lazily() -> None:
    """No circle of imports, counting those inside functions and under TYPE_CHECKING:
    each is a place where two modules know each other's insides."""
    graph = grimp.build_graph("bgw_pipeline", exclude_type_checking_imports=False)
    circles = sorted(
        f"{importer} <-> {imported}"
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if importer < imported and graph.chain_exists(imported, importer)
    )
    assert not circles
