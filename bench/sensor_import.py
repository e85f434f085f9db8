"""One import through the inbox sensor's path, for `make bench` (bench/run_bench.py).

What the Dagster daemon does with an archive dropped in IMPORT_INBOX (or its apply/
folder): one evaluation of import_inbox_sensor builds the run request, and
import_archive_job runs with that request's run config and tags, recorded in the instance
of DAGSTER_HOME. The daemon would start the run in a process of its own; here it runs in
this one (`execute_in_process`), so the figure is the sensor's tick plus the run, without
the launcher's process start. The resources are the code location's own, from the
environment (BGW_DATABASE_URL, EXPORT_PATH, IMPORT_INBOX, MAX_IMPORT_MB).

The archive must be settled (untouched for the inbox's settle time): the bench sets its
modification time in the past. Prints one JSON line: the mode, the tick's and the run's
seconds, and the import's message.
"""

from __future__ import annotations

import json
import time

import dagster as dg

from bgw_pipeline.definitions import build_definitions
from bgw_pipeline.defs.names import IMPORT_JOB
from bgw_pipeline.defs.resources import build_resources
from bgw_pipeline.defs.sensors import import_inbox_sensor


def main() -> int:
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        context = dg.build_sensor_context(instance=instance, resources=build_resources())
        tick = import_inbox_sensor(context)
        requests = [] if isinstance(tick, dg.SkipReason) else list(tick.run_requests or [])
        if len(requests) != 1:
            raise SystemExit(f"the sensor made {len(requests)} run requests, not one: {tick}")
        (request,) = requests
        ticked = time.perf_counter()
        result = (
            build_definitions()
            .resolve_job_def(IMPORT_JOB)
            .execute_in_process(
                run_config=request.run_config,
                instance=instance,
                tags={**request.tags, "dagster/run_key": request.run_key or ""},
                raise_on_error=False,
            )
        )
    done = time.perf_counter()
    message = ""
    for event in result.all_node_events:
        if event.is_successful_output and event.step_output_data.metadata:
            message = str(event.step_output_data.metadata["message"].value)
    print(json.dumps({
        "mode": request.tags.get("bgw/import_mode"), "success": result.success,
        "sensor_seconds": round(ticked - started, 3), "run_seconds": round(done - ticked, 3),
        "message": message, "run_id": result.run_id,
    }))  # fmt: skip
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
