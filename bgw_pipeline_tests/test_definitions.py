"""The code location loads, with nothing reachable, and lists what the UI should show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import dagster as dg
import pytest

import bgw_pipeline
import bgw_pipeline.definitions
import bgw_pipeline.defs
from bgw_pipeline.core.model.entities import ALL_ENTITIES
from bgw_pipeline.core.model.errors import ConfigError
from bgw_pipeline.definitions import CODE_LOCATION, build_definitions
from bgw_pipeline.defs import names
from bgw_pipeline.defs.names import INBOX_RESOURCE, STORE_RESOURCE
from bgw_pipeline.defs.resources import build_resources
from bgw_pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions()


def test_definitions_list_the_export_assets_jobs_and_checks(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    expected = {
        *names.EXTRACT_KEYS,
        *(names.snapshot_key(k) for k in names.EXTRACT_KEYS),
        names.EXPORT_ARCHIVE,
        names.GAMES_CSV,
    }
    assert keys == expected
    assert defs.resolve_job_def(names.BACKUP_JOB) is not None
    assert defs.resolve_job_def(names.PRICE_HISTORY_CSV_JOB) is not None
    check_keys = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert (names.EXPORT_ARCHIVE, names.ARCHIVE_VERIFIED_CHECK) in check_keys
    assert ("events", names.REFERENCES_CHECK) in check_keys
    assert {("games", names.UNIQUE_IDS_CHECK), ("listings", names.UNIQUE_IDS_CHECK)} <= check_keys


def test_every_asset_job_and_check_has_a_description(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        assert graph.get(key).description, key
    for job_name in (names.BACKUP_JOB, names.PRICE_HISTORY_CSV_JOB):
        assert defs.resolve_job_def(job_name).description, job_name
    for check_key in graph.asset_check_keys:
        assert graph.get(check_key).description, check_key


def test_archive_lineage_reaches_every_table(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey(names.EXPORT_ARCHIVE)).parent_keys}
    assert parents == set(names.EXTRACT_KEYS)


def _dg(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`dg` in this checkout, as `make ui` runs it, with nothing reachable."""
    env = {
        **os.environ,
        "BGW_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/nowhere",
        "S3_ENABLED": "true",
        "S3_ENDPOINT": "http://127.0.0.1:1",
        "DAGSTER_HOME": str(tmp_path),
        "VIRTUAL_ENV": sys.prefix,
    }
    dg_cli = Path(sys.executable).with_name("dg")
    return subprocess.run(
        [str(dg_cli), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_dg_check_defs_passes_without_a_reachable_database_or_s3(tmp_path: Path) -> None:
    proc = _dg(tmp_path, "check", "defs")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr
    assert "secret" not in proc.stdout + proc.stderr


def test_dg_list_defs_shows_what_the_code_location_holds(
    tmp_path: Path, defs: dg.Definitions
) -> None:
    proc = _dg(tmp_path, "list", "defs", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = json.loads(proc.stdout)
    graph = defs.resolve_asset_graph()
    assert {a["asset_key"] for a in listed["assets"]} == {
        k.to_user_string() for k in graph.get_all_asset_keys()
    }
    assert {j["name"] for j in listed["jobs"]} == {
        names.BACKUP_JOB,
        names.FRESHNESS_JOB,
        names.PRICE_HISTORY_CSV_JOB,
        names.IMPORT_JOB,
        names.UNDO_IMPORT_JOB,
        names.RETENTION_JOB,
        names.DRILL_JOB,
    }
    assert {s["name"] for s in listed["sensors"]} == {names.IMPORT_INBOX_SENSOR}
    assert len(listed["schedules"]) == 4
    assert len(listed["asset_checks"]) == len(graph.asset_check_keys)


def test_pyproject_declares_the_dg_project_that_definitions_loads() -> None:
    """`dg` reads pyproject.toml; definitions.py builds the same tree from the package (so
    that an installed wheel loads too): the two must name the same modules."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["dg"]
    assert project["directory_type"] == "project"
    assert project["project"] == {
        "root_module": "bgw_pipeline",
        "defs_module": bgw_pipeline.defs.__name__,
        "code_location_target_module": bgw_pipeline.definitions.__name__,
        "code_location_name": CODE_LOCATION,
    }


def test_resources_read_the_settings_as_the_command_line_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One parser: a value the command line refuses stops the resources with the same
    error, and a value it accepts reaches the resources as it reads it."""
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    monkeypatch.setenv("S3_ENABLED", "ture")
    with pytest.raises(ConfigError, match="S3_ENABLED must be true or false") as refused:
        build_resources()
    with pytest.raises(ConfigError) as cli_refused:
        Settings.from_env()
    assert str(refused.value) == str(cli_refused.value)

    monkeypatch.setenv("S3_ENABLED", " Yes ")
    monkeypatch.setenv("MAX_IMPORT_MB", "7")
    resources = build_resources()
    settings = Settings.from_env()
    assert resources[STORE_RESOURCE].s3_enabled is settings.s3_enabled is True
    assert resources[INBOX_RESOURCE].max_import_mb == settings.max_import_mb == 7


def test_every_table_asset_shows_its_columns_owners_and_code_version(
    defs: dg.Definitions,
) -> None:
    """The catalogue: column schemas from the DDL, owners, tags and a code version."""
    graph = defs.resolve_asset_graph()
    for entity in ALL_ENTITIES:
        for key in (entity.name, names.snapshot_key(entity.name)):
            node = graph.get(dg.AssetKey(key))
            value = node.metadata["dagster/column_schema"]
            schema = getattr(value, "schema", value)  # a TableSchema, or its metadata value
            assert [c.name for c in schema.columns] == [c.name for c in entity.columns], key
            nullable = {c.name: c.constraints.nullable for c in schema.columns}
            assert nullable == {c.name: c.nullable for c in entity.columns}, key
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == ["team:bgw-operators"], key
        assert node.tags.get("domain") == "bgw" and node.tags.get("layer"), key
        assert node.code_version and bgw_pipeline.__version__ in node.code_version, key
