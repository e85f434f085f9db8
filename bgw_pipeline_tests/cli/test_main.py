"""What every `bgw` command shares: help with examples, --version, --json, --quiet, the
documented exit codes, and how a closed pipe or Ctrl-C ends it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import click
import pytest

from bgw_pipeline import __version__
from bgw_pipeline.cli import main
from bgw_pipeline.cli.exit_codes import ExitCode
from bgw_pipeline.cli.main import EXIT_CODES, bgw
from bgw_pipeline.core.storage.s3_storage import S3Storage
from bgw_pipeline_tests.s3_server import moto_server, new_bucket

COMMANDS = sorted(bgw.commands)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A demo database and an export folder, named by the settings a user would set."""
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    monkeypatch.setenv("BGW_DATABASE_URL", f"sqlite:///{tmp_path / 'bgw.db'}")
    monkeypatch.setenv("EXPORT_PATH", str(tmp_path / "exports"))
    monkeypatch.delenv("S3_ENABLED", raising=False)
    assert main(["demo-db", "--scale", "0.02", "-q"]) == ExitCode.OK
    return tmp_path


def _json_of(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0) -> dict:
    capsys.readouterr()
    assert main(argv) == code
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example_and_every_option_a_text(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([name, "--help"]) == ExitCode.OK
    shown = capsys.readouterr().out
    assert "Example" in shown, shown
    for param in bgw.commands[name].params:
        if isinstance(param, click.Option):
            assert param.help, (name, param.name)
    if name != "api":  # a server, not a result
        assert "--json" in shown and "--quiet" in shown and "--verbose" in shown


def test_version_and_the_exit_codes_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == ExitCode.OK
    assert capsys.readouterr().out.strip() == f"bgw {__version__} (bgw_pipeline)"
    assert main(["--help"]) == ExitCode.OK
    shown = capsys.readouterr().out
    for code in ExitCode:
        assert f"  {int(code):<3}  " in EXIT_CODES and f"{int(code)}" in shown, code


def test_readme_documents_every_exit_code_and_command() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    section = readme[readme.index("## Command line") :]
    section = section[: section.index("\n## ", 3)]
    for code in ExitCode:
        assert f"| {int(code)} |" in section, code
    for name in COMMANDS:
        assert f"`bgw {name}" in section, name


@pytest.mark.parametrize(
    "argv", [["nosuch"], ["import"], ["export", "--bogus"], ["demo-db", "--scale", "-1"]]
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == ExitCode.USAGE
    assert "Usage: bgw" in capsys.readouterr().err


def test_every_result_is_one_json_object(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again = _json_of(capsys, ["demo-db", "--if-empty", "--json"])
    assert again["left_as_it_was"] is True and again["written"] is None

    exported = _json_of(capsys, ["export", "--json"])
    archive = Path(exported["archive"])
    assert archive.is_file() and archive.parent == workspace / "exports"
    assert exported["checksum"].startswith("sha256:") and exported["counts"]["games"] > 0

    summary = _json_of(capsys, ["inspect", str(archive), "--json"])
    assert summary["checksum"] == exported["checksum"]

    dry = _json_of(capsys, ["import", str(archive), "--json"])
    assert dry["success"] is True and dry["dry_run"] is True
    assert set(dry["summary"]) >= {"games", "rules", "events", "price_history"}


def test_an_applied_import_is_undone_by_its_own_command(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bgw undo ID`, and an archive may be a file named `undo`."""
    exported = _json_of(capsys, ["export", "--json"])
    changed = workspace / "undo"  # once a magic word of `bgw import`
    _with_a_new_rule_name(Path(exported["archive"]), changed)
    applied = _json_of(capsys, ["import", str(changed), "--apply", "--json"])
    assert applied["applied"] is True and applied["summary"]["rules"]["updated"] == 1
    undone = _json_of(capsys, ["undo", applied["import_id"], "--json"])
    assert undone["import_id"] == applied["import_id"] and undone["undone"]
    back = _json_of(capsys, ["import", exported["archive"], "--json"])
    assert back["summary"]["rules"]["updated"] == 0  # the database is as it was


def _with_a_new_rule_name(source: Path, target: Path) -> None:
    """The archive with one rule renamed, its member digests and checksum made anew."""
    from bgw_pipeline_tests.archive_builder import write_with_digests

    with zipfile.ZipFile(source) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    metadata = json.loads(members.pop("metadata.json"))
    rules = json.loads(members["rules.json"])
    rules["rules"][0]["name"] = "renamed by the test"
    members["rules.json"] = json.dumps(rules, ensure_ascii=False).encode()
    write_with_digests(target, metadata, members)


def test_quiet_prints_nothing_but_errors(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "-q"]) == ExitCode.OK
    assert capsys.readouterr() == ("", "")
    assert main(["inspect", str(workspace / "missing.zip"), "-q"]) == ExitCode.USAGE
    assert capsys.readouterr().err.startswith("bgw: error: no archive at")


def test_errors_exit_with_their_kind_and_say_so_in_json(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_zip = workspace / "bgw_backup_20260101T000000Z.zip"
    not_a_zip.write_bytes(b"this is not a zip file")
    refused = _json_of(capsys, ["import", str(not_a_zip), "--json"], ExitCode.REFUSED)
    assert refused["exit_code"] == 1 and refused["error"]

    unreachable = "postgresql://bgw@127.0.0.1:1/bgw"  # nothing listens there
    failed = _json_of(capsys, ["export", "--url", unreachable, "--json"], ExitCode.UNREACHABLE)
    assert failed["exit_code"] == 4 and "127.0.0.1" in failed["error"]

    monkeypatch.setenv("S3_ENABLED", "ture")
    misconfigured = _json_of(capsys, ["export", "--json"], ExitCode.CONFIG)
    assert "S3_ENABLED" in misconfigured["error"]


def test_an_archive_in_s3_is_inspected_and_imported_where_it_lies(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    exported = _json_of(capsys, ["export", "--json"])
    with moto_server() as endpoint:
        s3 = new_bucket(endpoint)
        location = S3Storage(s3).store(Path(exported["archive"]))
        reach = {"S3_ENDPOINT": endpoint, "S3_ACCESS_KEY": s3.access_key,
                 "S3_SECRET_KEY": s3.secret_key, "S3_BUCKET": s3.bucket}  # fmt: skip
        for name, value in reach.items():
            monkeypatch.setenv(name, value or "")
        summary = _json_of(capsys, ["inspect", location, "--json"])
        assert summary["checksum"] == exported["checksum"]
        dry = _json_of(capsys, ["import", location, "--json"])
        assert dry["success"] is True and dry["archive"]


def _sigint_at_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _bgw_process(*args: str, cwd: Path, **popen: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bgw_pipeline.cli", *args], cwd=cwd,
                            env={**os.environ}, **popen)  # type: ignore[call-overload]  # fmt: skip


def test_a_closed_pipe_ends_quietly(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`bgw inspect ... --json | head -1`: no traceback when the reader goes away."""
    exported = _json_of(capsys, ["export", "--json"])
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before anything is written
    process = _bgw_process("inspect", exported["archive"], "--json", cwd=workspace,
                           stdout=writer, stderr=subprocess.PIPE)  # fmt: skip
    os.close(writer)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == ExitCode.CLOSED_PIPE, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def _size(path: Path) -> int:
    """A file's size, 0 once it is gone: SQLite deletes its journal at each commit."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def test_ctrl_c_ends_with_130_and_no_traceback(workspace: Path) -> None:
    url = f"sqlite:///{workspace / 'big.db'}"
    # As at a terminal: SIGINT at its default. A test runner's worker may ignore SIGINT,
    # and an ignored signal stays ignored across exec, so the child would never see it.
    process = _bgw_process("demo-db", "--scale", "60", "--url", url, cwd=workspace,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=_sigint_at_default)  # fmt: skip
    deadline = time.monotonic() + 60
    # Past start-up, into the writing: a fixed sleep raced a fast run to its end.
    while process.poll() is None and time.monotonic() < deadline:
        written = sum(_size(f) for f in workspace.glob("big.db*"))  # -wal, -journal
        if written > 1_000_000:
            break
        time.sleep(0.05)
    assert process.poll() is None, "demo-db finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == ExitCode.INTERRUPTED, err
    assert b"bgw: interrupted" in err and b"Traceback" not in err


def test_archives_lists_each_state_in_the_words_of_the_api(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bgw_pipeline.core.storage.archive_states import archive_state
    from bgw_pipeline.core.storage.archive_storage import LocalStorage

    assert _json_of(capsys, ["archives", "--json"]) == {"count": 0, "archives": []}
    first = Path(_json_of(capsys, ["export", "--json"])["archive"])
    time.sleep(1.1)  # archive names carry the second
    second = Path(_json_of(capsys, ["export", "--json"])["archive"])
    storage = LocalStorage(workspace / "exports")
    storage.update_status(first.name, verified=True, restorable=True, shrink_alert=False)
    storage.update_status(second.name, verified=True, restorable=False, drill_problems=["boom"])
    listed = _json_of(capsys, ["archives", "--json"])
    assert [a["name"] for a in listed["archives"]] == [second.name, first.name]
    assert [a["state"] for a in listed["archives"]] == ["drill_failed", "restorable"]
    for item in listed["archives"]:
        assert item["state_words"] == archive_state(storage.read_status(item["name"])).words
    assert main(["archives"]) == ExitCode.OK
    shown = capsys.readouterr().out
    assert "failed its restore drill: boom" in shown and "verified and restorable" in shown


@pytest.mark.parametrize("command", [["export"], ["backup"]])
def test_a_terminal_sees_rows_per_table_and_a_pipe_does_not(
    workspace: Path, tmp_path: Path, command: list[str]
) -> None:
    """On a terminal, bars with rows per table (and for a backup, the restore drill's
    load of each); with stderr not a terminal, no bar at all."""
    import pty
    import re
    import shutil

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[2] / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "COLUMNS": "160", "TERM": "xterm"}
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bgw_pipeline.cli", *command], cwd=workspace, env=env,
        stdout=subprocess.DEVNULL, stderr=follower, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert process.wait(timeout=120) == ExitCode.OK, drawn.decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn.decode(errors="replace"))
    tables = ["games", "price_history"]
    if command == ["backup"]:  # the archive, then the restore drill's load of it
        labels = [f"backup {name}" for name in tables] + [f"backup drill {t}" for t in tables]
    else:
        labels = [f"exporting {name}" for name in tables]
    for label in labels:
        assert label in text, text
    bar = re.compile(r"\d+/\d+ +rows")
    assert bar.search(text), text
    piped = subprocess.run(
        [sys.executable, "-m", "bgw_pipeline.cli", *command], cwd=workspace, env=env,
        capture_output=True, check=True,
    )  # fmt: skip
    quiet = piped.stderr.decode(errors="replace")
    assert not bar.search(quiet) and "\x1b[" not in quiet, quiet
