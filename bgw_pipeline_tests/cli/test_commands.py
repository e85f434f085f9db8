"""The `bgw` command line as a user runs it: a real process, real files."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _environment(changes: dict[str, str | None]) -> dict[str, str]:
    """This process's environment with `changes` applied (None removes a variable)."""
    env = {**os.environ}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _bgw(
    *args: str, cwd: Path, env: dict[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bgw_pipeline.cli", *args],
        cwd=cwd,
        env=_environment(env or {}),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_db_then_export_writes_an_archive(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    made = _bgw("demo-db", "--scale", "0.05", "--url", url, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    again = _bgw("demo-db", "--scale", "0.05", "--url", url, "--if-empty", cwd=tmp_path)
    assert again.returncode == 0 and "already holds data" in again.stdout

    out = _bgw("export", "--url", url, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (archive,) = (tmp_path / "out").glob("bgw_backup_*.zip")
    assert f"archive: {archive}" in out.stdout
    with zipfile.ZipFile(archive) as zf:
        assert "metadata.json" in zf.namelist()


def test_defaults_come_from_the_environment_and_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"BGW_DATABASE_URL=sqlite:///{tmp_path / 'from_env.db'}\nEXPORT_PATH={tmp_path / 'ex'}\n"
    )
    env: dict[str, str | None] = {"BGW_DATABASE_URL": None, "EXPORT_PATH": None}
    assert _bgw("demo-db", "--scale", "0.02", cwd=tmp_path, env=env).returncode == 0
    assert (tmp_path / "from_env.db").exists()
    assert _bgw("export", cwd=tmp_path, env=env).returncode == 0
    assert list((tmp_path / "ex").glob("bgw_backup_*.zip"))


@pytest.mark.parametrize(
    "url",
    ["mysql://root@127.0.0.1/x", "not a url at all://", "postgresql://u:hunter2@127.0.0.1:1/db"],
)
def test_bad_database_urls_fail_clearly_without_leaking_the_password(
    tmp_path: Path, url: str
) -> None:
    result = _bgw("export", "--url", url, "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode != 0
    assert "hunter2" not in result.stdout + result.stderr
    assert result.stderr.strip()


def test_backup_runs_backup_job_on_dagster_home(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    env: dict[str, str | None] = {
        "BGW_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
        "EXPORT_PATH": str(tmp_path / "exports"),
        "DAGSTER_HOME": str(home),
    }
    assert _bgw("demo-db", "--scale", "0.02", cwd=tmp_path, env=env).returncode == 0
    result = _bgw("backup", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backup_job succeeded" in result.stdout
    assert "checksum: sha256:" in result.stdout
    (archive,) = (tmp_path / "exports").glob("bgw_backup_*.zip")
    assert str(archive) in result.stdout
    # Dagster's DEBUG lines only with --verbose: by default the outcome alone.
    assert " - DEBUG - " not in result.stdout + result.stderr
    assert len(result.stdout.splitlines()) == 6, result.stdout
    # The run is recorded in the persistent instance, so the UI shows it later.
    assert any((home).rglob("*.db"))

    shown = _bgw("backup", "--json", "--verbose", cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    assert " - DEBUG - " in shown.stderr
    outcome = json.loads(shown.stdout)
    assert outcome["success"] is True and outcome["archive"].endswith(".zip")
    assert set(outcome) == {"success", "run_id", "archive", "size_bytes", "checksum", "counts",
                            "duration_seconds"}  # fmt: skip


def test_a_failed_backup_says_why(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    env: dict[str, str | None] = {
        "BGW_DATABASE_URL": "postgresql://bgw@127.0.0.1:1/bgw",  # nothing listens there
        "EXPORT_PATH": str(tmp_path / "exports"),
        "DAGSTER_HOME": str(home),
        "RETRY_MAX_TRIES": "1",
    }
    result = _bgw("backup", cwd=tmp_path, env=env)
    assert result.returncode == 1  # a failed run
    assert "backup_job failed" in result.stdout
    assert "export_archive: cannot reach the database" in result.stdout, result.stdout
    shown = _bgw("backup", "--json", cwd=tmp_path, env=env)
    outcome = json.loads(shown.stdout)
    assert shown.returncode == 1 and outcome["success"] is False
    assert any("cannot reach the database" in reason for reason in outcome["reasons"])


_LOADED_AFTER_EXPORT = """
import sys
from bgw_pipeline.cli import main
status = main(["export", "--url", sys.argv[1], "--out", sys.argv[2]])
print(status, "pyarrow" in sys.modules, "pandas" in sys.modules, "sqlalchemy" in sys.modules)
"""


def test_an_export_loads_no_more_than_it_needs(tmp_path: Path, db_url: str) -> None:
    """A short export process stays short: from PostgreSQL (rows encoded by the server)
    neither pyarrow nor SQLAlchemy is loaded at all (psycopg alone), and from SQLite
    (rows rendered by SQLite) neither pyarrow nor pandas is."""
    assert _bgw("demo-db", "--scale", "0.02", "--url", db_url, cwd=tmp_path).returncode == 0
    run = subprocess.run(
        [sys.executable, "-c", _LOADED_AFTER_EXPORT, db_url, str(tmp_path / "out")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    postgres = db_url.startswith("postgresql")
    loaded = ["0", "False", "False", str(not postgres)]
    assert run.stdout.splitlines()[-1].split() == loaded


_LOADED_AFTER_IMPORT = """
import sys
from bgw_pipeline.cli import main
status = main(["import", sys.argv[2], "--url", sys.argv[1], *sys.argv[3:]])
print(status, "sqlalchemy" in sys.modules, "pandas" in sys.modules)
"""


def test_an_import_loads_no_more_than_it_needs(tmp_path: Path, db_url: str) -> None:
    """A dry run and an apply into PostgreSQL go over psycopg alone: SQLAlchemy is never
    loaded (SQLite needs it); pandas is loaded by neither."""
    assert _bgw("demo-db", "--scale", "0.02", "--url", db_url, cwd=tmp_path).returncode == 0
    assert _bgw("export", "--url", db_url, "--out", "out", cwd=tmp_path).returncode == 0
    (archive,) = (tmp_path / "out").glob("bgw_backup_*.zip")
    postgres = db_url.startswith("postgresql")
    for apply in ([], ["--apply"]):
        run = subprocess.run(
            [sys.executable, "-c", _LOADED_AFTER_IMPORT, db_url, str(archive), *apply],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert run.stdout.splitlines()[-1].split() == ["0", str(not postgres), "False"], apply
        assert ("applied: 0 rows written" if apply else "dry run: 0 rows") in run.stdout


def test_a_command_freezes_the_collector_when_it_ends(tmp_path: Path) -> None:
    """Interpreter shutdown then skips its last walk over every object (a tenth of a
    second); the command has closed its files and connections by then."""
    from bgw_pipeline.cli import main

    gc.unfreeze()
    try:
        assert main(["inspect", str(tmp_path / "missing.zip")]) == 2
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_missing_archive_is_named_not_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.zip"
    database = f"sqlite:///{tmp_path / 'x.db'}"
    for command in (["inspect", str(missing)], ["import", str(missing), "--url", database]):
        run = _bgw(*command, cwd=tmp_path)
        assert run.returncode == 2, run.stderr
        assert run.stderr.strip() == f"bgw: error: no archive at {missing}"


def test_keygen_then_export_stores_sealed_and_out_stays_plain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bgw keygen` writes a key; with it set, `bgw export` stores the archive encrypted,
    `bgw inspect` still reads it, and `--out DIR` writes a plain ZIP where asked."""
    import json as json_module
    import zipfile

    from bgw_pipeline import cli
    from bgw_pipeline.core.files.sealing import is_sealed

    key = tmp_path / "archive.key"
    assert cli.main(["keygen", str(key), "--json"]) == 0
    assert json_module.loads(capsys.readouterr().out)["public_key"].startswith("age1")
    assert cli.main(["keygen", str(key)]) == 2  # never overwritten
    capsys.readouterr()
    monkeypatch.setenv("BGW_DATABASE_URL", f"sqlite:///{tmp_path / 'bgw.db'}")
    monkeypatch.setenv("EXPORT_PATH", str(tmp_path / "exports"))
    monkeypatch.setenv("BGW_ARCHIVE_KEY_FILE", str(key))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo-db", "--scale", "0.02", "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["export", "--json"]) == 0
    stored = Path(json_module.loads(capsys.readouterr().out)["archive"])
    assert is_sealed(stored)
    assert cli.main(["inspect", str(stored), "--json"]) == 0
    assert json_module.loads(capsys.readouterr().out)["contents"]["games_count"] > 0
    assert cli.main(["export", "--out", str(tmp_path / "plain"), "--json"]) == 0
    plain = Path(json_module.loads(capsys.readouterr().out)["archive"])
    assert zipfile.is_zipfile(plain) and not is_sealed(plain)
