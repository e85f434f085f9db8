"""The soak (`make reliability SOAK=1`): the mixed HTTP load and a backup every few
minutes for SOAK_MINUTES (30) on one server; its memory and open files stay flat, and
every backup verifies and restores. Skipped unless asked for: it takes half an hour."""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bgw_pipeline.core.storage.archive_states import archive_state
from bgw_pipeline.core.storage.archive_storage import LocalStorage
from bgw_pipeline_tests.api.live_server import demo_database, live_server, server_env
from bgw_pipeline_tests.archive_builder import SEED_GAME, build_archive
from bgw_pipeline_tests.reliability.tally import record
from bgw_pipeline_tests.reliability.test_load import MB, READ, WRITE, _kinds, _rss_mib

pytestmark = pytest.mark.skipif(
    os.environ.get("BGW_SOAK") != "1", reason="the soak runs with make reliability SOAK=1"
)


def _open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_a_soak_keeps_memory_and_files_flat_and_every_backup_good(tmp_path: Path) -> None:
    minutes = float(os.environ.get("SOAK_MINUTES", "30"))
    url = demo_database(tmp_path, scale=1.0)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        game_id = conn.exec_driver_sql("SELECT id FROM games ORDER BY id LIMIT 1").scalar_one()
    engine.dispose()
    archive = build_archive(tmp_path / "upload.zip", [SEED_GAME]).read_bytes()
    env = server_env(tmp_path, url, MAX_IMPORT_MB="1", API_EXPORTS_PER_HOUR="100000",
                     BGW_API_TOKENS=f"read:{READ},write:{WRITE}")  # fmt: skip
    samples: list[tuple[float, float, int]] = []
    statuses: Counter[int] = Counter()
    backups: list[str] = []
    with live_server(env, tmp_path) as base:
        api = f"{base}/api/v1/export"
        kinds = _kinds(api, str(game_id), archive, b"PK" + b"\0" * (2 * MB))
        kinds.pop("full export")  # backups run on their own clock, below
        names = list(kinds)
        weights = [kinds[k][0] for k in names]
        deadline = time.monotonic() + minutes * 60
        stop = threading.Event()

        def backups_on_a_clock() -> None:
            while not stop.wait(120):  # every two minutes, as a schedule would
                made = requests.post(f"{api}/backups", timeout=600,
                                     headers={"Authorization": f"Bearer {WRITE}"})  # fmt: skip
                statuses[made.status_code] += 1
                if made.status_code == 200:
                    backups.append(made.json()["name"])

        clock = threading.Thread(target=backups_on_a_clock)
        clock.start()
        chooser = random.Random(11)
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                while time.monotonic() < deadline:
                    batch = chooser.choices(names, weights, k=80)
                    for status in pool.map(lambda k: kinds[k][1](), batch):
                        statuses[status] += 1
                    samples.append((time.monotonic(), _rss_mib(base.pid), _open_files(base.pid)))
        finally:
            stop.set()
            clock.join()
    settled = samples[len(samples) // 3 :]  # after the first third: threads, caches warm
    third = max(1, len(settled) // 3)
    early, late = settled[:third], settled[-third:]
    rss_growth = statistics.mean(s[1] for s in late) - statistics.mean(s[1] for s in early)
    files_growth = max(s[2] for s in late) - max(s[2] for s in early)
    storage = LocalStorage(tmp_path / "exports")
    states = Counter(archive_state(storage.read_status(name)).code for name in backups)
    ok = (
        not any(code >= 500 for code in statuses)
        and rss_growth < 50
        and files_growth <= 5
        and backups
        and states == Counter({"restorable": len(backups)})
    )
    record("load", f"soak: {minutes:g} min of mixed load and a backup every 2 min", bool(ok),
           requests=sum(statuses.values()), statuses=dict(statuses), backups=len(backups),
           backup_states=dict(states), rss_growth_mib=round(rss_growth, 1),
           open_files_growth=files_growth, rss_end_mib=round(samples[-1][1]))  # fmt: skip
    assert ok, (statuses, rss_growth, files_growth, states)
