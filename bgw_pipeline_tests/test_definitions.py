"""The code location loads, with nothing reachable, and lists what the UI should show."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from bgw_pipeline.core.model.errors import ConfigError
from bgw_pipeline.definitions import defs
from bgw_pipeline.defs import names
from bgw_pipeline.defs.names import INBOX_RESOURCE, STORE_RESOURCE
from bgw_pipeline.defs.resources import build_resources
from bgw_pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_list_the_export_assets_jobs_and_checks() -> None:
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


def test_every_asset_job_and_check_has_a_description() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        assert graph.get(key).description, key
    for job_name in (names.BACKUP_JOB, names.PRICE_HISTORY_CSV_JOB):
        assert defs.resolve_job_def(job_name).description, job_name
    for check_key in graph.asset_check_keys:
        assert graph.get(check_key).description, check_key


def test_archive_lineage_reaches_every_table() -> None:
    graph = defs.resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey(names.EXPORT_ARCHIVE)).parent_keys}
    assert parents == set(names.EXTRACT_KEYS)


def test_dagster_definitions_validate_passes_without_a_reachable_database(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BGW_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/nowhere",
        "DAGSTER_HOME": str(tmp_path),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "bgw_pipeline.definitions",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "secret" not in proc.stdout + proc.stderr


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
