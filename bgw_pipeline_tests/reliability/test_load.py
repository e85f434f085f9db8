"""Load: concurrent HTTP exports, CSV requests and uploads on loopback; and 100 archives
dropped in the inbox at once, each imported exactly once."""

from __future__ import annotations

import statistics
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dagster as dg
import requests
import sqlalchemy as sa

from bgw_pipeline.defs import names
from bgw_pipeline.defs.sensors import import_inbox_sensor
from bgw_pipeline_tests.api.live_server import demo_database, live_server, server_env
from bgw_pipeline_tests.archive_builder import SEED_GAME, build_archive
from bgw_pipeline_tests.dagster_resources import local_definitions, local_resources
from bgw_pipeline_tests.reliability.tally import budget, record

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


def test_concurrent_http_requests_hold(tmp_path: Path) -> None:
    url = demo_database(tmp_path, scale=0.2)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        game_id = conn.exec_driver_sql("SELECT id FROM games ORDER BY id LIMIT 1").scalar_one()
    engine.dispose()
    archive = build_archive(tmp_path / "upload.zip", [SEED_GAME]).read_bytes()
    oversize = b"PK" + b"\0" * (2 * MB)
    exports_allowed = 5
    env = server_env(tmp_path, url, MAX_IMPORT_MB="1", API_EXPORTS_PER_HOUR=str(exports_allowed))
    n = budget(8, 40)
    with live_server(env, tmp_path) as base:
        api = f"{base}/api/v1/export"
        kinds = {
            "games csv": lambda: requests.get(f"{api}/games/csv", timeout=60).status_code,
            "price csv": lambda: (
                requests.get(f"{api}/price-history/{game_id}/csv", timeout=60).status_code
            ),
            "dry-run upload": lambda: (
                requests.post(
                    f"{api}/full", files={"file": ("a.zip", archive)}, timeout=120
                ).status_code
            ),
            "oversize upload": lambda: (
                requests.post(
                    f"{api}/full", files={"file": ("big.zip", oversize)}, timeout=120
                ).status_code
            ),
            "full export": lambda: requests.get(f"{api}/full", timeout=300).status_code,
        }
        expected = {"games csv": {200}, "price csv": {200}, "dry-run upload": {200},
                    "oversize upload": {413}, "full export": {200, 429}}  # fmt: skip
        for call in kinds.values():  # warm-up round (the full export uses one allowance)
            call()
        warm = _rss_mib(base.pid)
        results: dict[str, list[tuple[int, float]]] = {}
        with ThreadPoolExecutor(max_workers=8) as pool:
            for kind, call in kinds.items():
                results[kind] = list(pool.map(lambda _i, c=call: _timed(c), range(n)))
        grown = _rss_mib(base.pid) - warm
    held = True
    for kind, outcomes in results.items():
        statuses = Counter(s for s, _ms in outcomes)
        times = [ms for _s, ms in outcomes]
        ok = set(statuses) <= expected[kind] and not any(s >= 500 for s in statuses)
        if kind == "full export":  # the rate limit lets exactly the allowance through
            ok = ok and statuses[200] == exports_allowed - 1 and statuses[429] == n - statuses[200]
        record("load", f"HTTP {kind} x{n}, 8 at a time", ok and grown < 150, requests=n,
               p50_ms=round(statistics.median(times)), p99_ms=round(_percentile(times, 0.99)),
               statuses=dict(statuses), rss_growth_mib=round(grown))  # fmt: skip
        held = held and ok
    assert held, {k: Counter(s for s, _ in v) for k, v in results.items()}
    assert grown < 150, f"server memory grew by {grown:.0f} MiB under load"


def test_archives_dropped_at_once_are_each_imported_exactly_once(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'bgw.db'}"
    count = budget(15, 100)
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
