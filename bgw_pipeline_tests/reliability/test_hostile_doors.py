"""Hostile archives through the other doors: the inbox sensor and its Dagster job, and HTTP.

Each case must be refused with words that name the problem, leave the database as it
was, leave no file outside the work folders, and (for the sensor) not come back on the
next tick. CI runs a sample of the cases; `make reliability` runs them all.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import requests
import sqlalchemy as sa

from bgw_pipeline.defs import names
from bgw_pipeline.defs.sensors import import_inbox_sensor
from bgw_pipeline_tests.api.live_server import live_server, server_env
from bgw_pipeline_tests.dagster_resources import local_definitions, local_resources
from bgw_pipeline_tests.factories import dump_database, small_database
from bgw_pipeline_tests.reliability.hostile_archives import HostileCase, hostile_cases
from bgw_pipeline_tests.reliability.tally import budget, record


def _sample(tmp: Path) -> list[HostileCase]:
    tmp.mkdir(parents=True, exist_ok=True)
    cases = list(hostile_cases(tmp))
    step = max(1, len(cases) // budget(12, len(cases)))
    return cases[::step]


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _run_failure_text(result: dg.ExecuteInProcessResult) -> str:
    data = result.failure_data_for_node("import_archive")
    if data is None:
        return ""
    metadata = data.user_failure_data.metadata if data.user_failure_data else {}
    report = metadata.get("report")
    return f"{data.error.message if data.error else ''} {report.value if report else ''}"


def test_the_sensor_and_its_job_refuse_every_case(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    small_database(engine)
    before = dump_database(engine)
    cases = _sample(tmp_path / "cases")
    inbox = tmp_path / "inbox" / "apply"
    inbox.mkdir(parents=True)
    job = local_definitions(db_url, tmp_path).resolve_job_def(names.IMPORT_JOB)
    resources = local_resources(db_url, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    cursor = None
    wrong = []
    for index, case in enumerate(cases):
        name = f"case{index:02d}.zip"
        (inbox / name).write_bytes(case.data)
        if not case.data:  # an empty file is taken once it has stayed empty for a while
            old = (inbox / name).stat().st_mtime - 3600
            os.utime(inbox / name, (old, old))
        tick = import_inbox_sensor(dg.build_sensor_context(cursor=cursor, resources=resources))
        cursor = tick.cursor
        (request,) = tick.run_requests
        result = job.execute_in_process(
            run_config=request.run_config, instance=instance, raise_on_error=False
        )
        said = _run_failure_text(result)
        refused = not result.success and case.expect in said
        unchanged = dump_database(engine) == before
        gone = not (inbox / name).exists() and (tmp_path / "inbox" / "failed" / name).exists()
        again = import_inbox_sensor(dg.build_sensor_context(cursor=cursor, resources=resources))
        quiet = isinstance(again, dg.SkipReason) or not again.run_requests
        ok = refused and unchanged and gone and quiet
        record(
            "hostile", case.name, ok, door=f"sensor/{engine.dialect.name}", db_unchanged=unchanged
        )
        if not ok:
            wrong.append((case.name, refused, unchanged, gone, quiet, said[:200]))
    assert not wrong, wrong
    outside = {f for f in _files(tmp_path) if not f.startswith(("inbox/", "exports/", "cases/"))}
    assert outside <= {"bgw.db"}, outside


def test_http_refuses_every_case(tmp_path: Path) -> None:
    from bgw_pipeline.core.database.engines import create_engine
    from bgw_pipeline.core.database.schema import ensure_schema

    url = f"sqlite:///{tmp_path / 'bgw.db'}"
    engine = create_engine(url)
    ensure_schema(engine)
    small_database(engine)
    before = dump_database(engine)
    cases = _sample(tmp_path / "cases")
    uploads = tmp_path / "tmp"
    uploads.mkdir()
    env = server_env(tmp_path, url, TMPDIR=str(uploads))
    wrong = []
    with live_server(env, tmp_path) as base:
        for case in cases:
            answer = requests.post(
                f"{base}/api/v1/export/full",
                params={"dry_run": "false"},
                files={"file": ("hostile.zip", case.data, "application/zip")},
                timeout=120,
            )
            body = answer.text
            if case.row_level:  # the document's answer: 200, success false, errors listed
                refused = answer.status_code == 200 and answer.json()["success"] is False
                refused = refused and case.expect in body
            else:
                refused = 400 <= answer.status_code < 500 and case.expect in body
            unchanged = dump_database(engine) == before
            clean = not any(uploads.iterdir())
            ok = refused and unchanged and clean
            record("hostile", case.name, ok, door="http/sqlite", db_unchanged=unchanged,
                   status=answer.status_code)  # fmt: skip
            if not ok:
                wrong.append((case.name, answer.status_code, unchanged, clean, body[:200]))
    engine.dispose()
    assert not wrong, wrong
    assert os.path.exists(tmp_path / "bgw.db")
