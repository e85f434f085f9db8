"""The set-up is reproducible: what is installed is what uv.lock says, and everything
that installs (make, the Dockerfile, the compose file) takes pinned versions."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _locked() -> dict[str, set[str]]:
    """Each locked package's versions (a few have one per range of Python versions)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text("utf-8"))
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        if "version" in package:
            versions.setdefault(canonicalize_name(package["name"]), set()).add(package["version"])
    return versions


def test_every_installed_package_of_the_lock_has_its_locked_version() -> None:
    locked = _locked()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    for name in ("dagster", "duckdb", "pandas", "pyarrow", "sqlalchemy", "pytest", "click"):
        assert name in locked and name in installed, name
    differ = {
        name: (installed[name], versions)
        for name, versions in locked.items()
        if name in installed and installed[name] not in versions and name != "bgw-pipeline"
    }
    assert not differ, f"installed, locked: {differ}"


def test_the_lock_covers_every_dependency_of_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = [*project["dependencies"], *(d for ds in project["optional-dependencies"].values()
                                          for d in ds)]  # fmt: skip
    locked = _locked()
    for requirement in wanted:
        name = canonicalize_name(re.split(r"[\s\[<>=~!;]", requirement, maxsplit=1)[0])
        assert name in locked, requirement


def test_the_image_and_the_compose_file_take_pinned_versions() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    assert "COPY pyproject.toml uv.lock" in dockerfile
    assert "uv export --frozen" in dockerfile and "--require-hashes" in dockerfile
    compose = (ROOT / "docker-compose.yml").read_text("utf-8")
    images = re.findall(r"^\s*image:\s*(\S+)", compose, re.M)
    assert images
    for image in images:
        if image.startswith("bgw_pipeline"):
            continue  # built here
        assert ":" in image and not image.endswith(":latest"), image
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert "uv sync --locked" in makefile or "$(UV) sync --locked" in makefile
