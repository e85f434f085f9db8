"""Load: a mix of HTTP requests (exports, CSVs, uploads, summaries, unauthorised tries)
on loopback, a dry run beside a full export, and archives dropped in the inbox at once,
each imported exactly once (2,000 requests 32 at a time on PostgreSQL with M data and
1,000 archives under `make reliability`; less in CI)."""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import requests
import sqlalchemy as sa

from bgw_pipeline.defs import names
from bgw_pipeline.defs.sensors import import_inbox_sensor
from bgw_pipeline_tests.api.live_server import demo_database, live_server, server_env
from bgw_pipeline_tests.archive_builder import SEED_GAME, build_archive
from bgw_pipeline_tests.dagster_resources import local_definitions, local_resources
from bgw_pipeline_tests.reliability.tally import budget, full_run, record

MB = 1024 * 1024


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _timed(call: Any) -> tuple[int, float]:
    started = time.perf_counter()
    status = call()
    return status, (time.perf_counter() - started) * 1000


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


READ, WRITE = "load-read-token-3c9a51e0", "load-write-token-7d02b4f8"


def _fill(url: str, scale: float) -> None:
    from bgw_pipeline.core.database.engines import create_engine
    from bgw_pipeline.core.demo.data import fill_demo_database

    engine = create_engine(url)
    fill_demo_database(engine, scale=scale)
    engine.dispose()


def _kinds(api: str, game_id: str, archive: bytes, oversize: bytes) -> dict[str, tuple]:
    """Each kind of request: (its share of the mix, the call, the answers it may get)."""
    read = {"Authorization": f"Bearer {READ}"}

    def get(path: str, headers: dict[str, str] | None = None) -> int:
        return requests.get(f"{api}{path}", headers=headers or read, timeout=600).status_code

    def post(path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
        return requests.post(f"{api}{path}", files={"file": ("a.zip", body)},
                             headers=headers or read, timeout=600).status_code  # fmt: skip

    wrong = {"Authorization": "Bearer not-a-token-of-ours"}
    return {
        "games csv": (4, lambda: get("/games/csv"), {200}),
        "price csv": (4, lambda: get(f"/price-history/{game_id}/csv"), {200}),
        "dry-run upload": (4, lambda: post("/full", archive), {200}),
        "summary upload": (2, lambda: post("/summary", archive), {200}),
        "backup list": (1, lambda: get("/backups"), {200}),
        "no token": (1, lambda: get("/games/csv", {"X-None": "1"}), {401}),
        "wrong token": (1, lambda: post("/full", archive, wrong), {401}),
        "read token applying": (1, lambda: post("/full?dry_run=false", archive), {403}),
        "oversize upload": (1, lambda: post("/full", oversize), {413}),
        # 409: another export's backup is running (one at a time); 429: over the allowance
        "full export": (1, lambda: get("/full"), {200, 409, 429}),
    }


def _p99(times: list[float]) -> float:
    return _percentile(times, 0.99)


def _dry_runs_during(api: str, archive: bytes, busy: Any, least: int) -> list[float]:
    """Dry runs one after another while `busy()` is true (at least `least` of them)."""
    headers = {"Authorization": f"Bearer {READ}"}
    times: list[float] = []
    while busy() or len(times) < least:
        _status, ms = _timed(lambda: requests.post(
            f"{api}/full", files={"file": ("a.zip", archive)}, headers=headers, timeout=600
        ).status_code)  # fmt: skip
        times.append(ms)
    return times


def test_mixed_http_load_holds(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The mixed load, on PostgreSQL with M data under `make reliability` (SQLite and a
    small database in CI): no 5xx, each kind its intended answers, the export allowance
    exact, server memory flat; then a dry run's latency alone and beside a full export."""
    if full_run():
        url = request.getfixturevalue("postgres_url")
        _fill(url, 10.0)  # M: what the bench calls M
        database = "PostgreSQL, M"
    else:
        url = demo_database(tmp_path, scale=0.2)
        database = "SQLite, S/5"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        game_id = conn.exec_driver_sql("SELECT id FROM games ORDER BY id LIMIT 1").scalar_one()
    engine.dispose()
    archive = build_archive(tmp_path / "upload.zip", [SEED_GAME]).read_bytes()
    oversize = b"PK" + b"\0" * (2 * MB)
    allowed = 5
    env = server_env(tmp_path, url, MAX_IMPORT_MB="1", API_EXPORTS_PER_HOUR=str(allowed),
                     BGW_API_TOKENS=f"read:{READ},write:{WRITE}")  # fmt: skip
    total, at_once = budget(200, 2000), budget(8, 32)
    with live_server(env, tmp_path) as base:
        api = f"{base}/api/v1/export"
        kinds = _kinds(api, str(game_id), archive, oversize)
        first = _rss_mib(base.pid)
        # Warm-up: one burst of every kind at full concurrency (one export allowance), so
        # that the growth measured next is what the load adds once every thread, module
        # and cache it needs is there, not the first burst's high-water mark.
        warm_up = [kind for kind in kinds if kind != "full export"] * at_once
        with ThreadPoolExecutor(max_workers=at_once) as pool:
            list(pool.map(lambda kind: kinds[kind][1](), [*warm_up, "full export"]))
        # Before the mix (which uses up the exports allowed): a dry run's latency alone,
        # then while a full export runs beside it.
        idle = _dry_runs_during(api, archive, lambda: False, budget(10, 30))
        exporter = ThreadPoolExecutor(1)
        export = exporter.submit(
            lambda: requests.get(
                f"{api}/full", headers={"Authorization": f"Bearer {WRITE}"}, timeout=600
            )
        )
        time.sleep(0.5)  # the export's run has begun
        beside = _dry_runs_during(api, archive, lambda: not export.done(), 3)
        export_status = export.result().status_code
        exporter.shutdown()
        warm = _rss_mib(base.pid)
        weights = sum(share for share, _c, _e in kinds.values())
        plan = [kind for kind, (share, _c, _e) in kinds.items()
                for _ in range(round(total * share / weights))]  # fmt: skip
        random.Random(7).shuffle(plan)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=at_once) as pool:
            outcomes = list(pool.map(lambda kind: (kind, _timed(kinds[kind][1])), plan))
        wall = time.perf_counter() - started
        grown = _rss_mib(base.pid) - warm
    held = True
    for kind, (_share, _call, expected) in kinds.items():
        results = [result for k, result in outcomes if k == kind]
        statuses = Counter(status for status, _ms in results)
        times = [ms for _status, ms in results]
        ok = set(statuses) <= expected
        if kind == "full export":  # the warm-up and the export beside dry runs used two
            ok = ok and statuses[200] >= 1 and statuses[200] + statuses[409] == allowed - 2
        record("load", f"HTTP {kind}: {len(results)} of {len(plan)} mixed, {at_once} at a time, "
               f"{database}", ok and grown < 100, requests=len(results),
               p50_ms=round(statistics.median(times)), p99_ms=round(_p99(times)),
               statuses=dict(statuses), rss_growth_mib=round(grown),
               rss_warm_mib=round(warm), rss_first_mib=round(first),
               wall_s=round(wall, 1))  # fmt: skip
        held = held and ok
    ratio = _p99(beside) / _p99(idle)
    record("load", f"HTTP dry run beside a full export ({database}): p99 {ratio:.2f}x idle",
           export_status == 200 and ratio <= 2.0, requests=len(idle) + len(beside),
           p50_ms=round(statistics.median(beside)), p99_ms=round(_p99(beside)),
           idle_p99_ms=round(_p99(idle)))  # fmt: skip
    assert held, {k: Counter(s for kk, (s, _) in outcomes if kk == k) for k in kinds}
    assert grown < 100, f"server memory grew by {grown:.0f} MiB under load"
    assert export_status == 200


def test_archives_dropped_at_once_are_each_imported_exactly_once(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'bgw.db'}"
    count = budget(15, 1000)
    apply = tmp_path / "inbox" / "apply"
    apply.mkdir(parents=True)
    titles = []
    for index in range(count):
        title = f"Игра из ящика {index}"
        game = SEED_GAME | {"id": str(uuid.uuid4()), "title": title, "normalized_title": title}
        build_archive(apply / f"drop_{index:03d}.zip", [game])
        titles.append(title)
    job = local_definitions(db_url, tmp_path).resolve_job_def(names.IMPORT_JOB)
    resources = local_resources(db_url, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    cursor, run_keys, failures = None, [], 0
    for _tick in range(count + 5):
        tick = import_inbox_sensor(dg.build_sensor_context(cursor=cursor, resources=resources))
        requests_ = [] if isinstance(tick, dg.SkipReason) else tick.run_requests
        if not isinstance(tick, dg.SkipReason):
            cursor = tick.cursor
        if not requests_:
            break
        for request in requests_:
            run_keys.append(request.run_key)
            result = job.execute_in_process(
                run_config=request.run_config, instance=instance, raise_on_error=False
            )
            failures += not result.success
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = Counter(r[0] for r in conn.exec_driver_sql("SELECT title FROM games"))
    engine.dispose()
    once = all(rows[t] == 1 for t in titles) and len(rows) == count
    ok = (
        once
        and failures == 0
        and len(run_keys) == len(set(run_keys)) == count
        and not any(apply.iterdir())
    )
    record("load", f"sensor: {count} archives dropped at once", ok, requests=count,
           runs=len(run_keys), failures=failures, rows_lost=count - len(rows))  # fmt: skip
    assert ok, (len(run_keys), failures, len(rows))
