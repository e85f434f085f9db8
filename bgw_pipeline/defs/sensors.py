"""The import inbox sensor: an archive dropped in a folder becomes an import run."""

import dagster as dg
import orjson

from bgw_pipeline.core.storage.inbox import is_settled
from bgw_pipeline.defs.names import IMPORT_INBOX_SENSOR, IMPORT_JOB
from bgw_pipeline.defs.resources import ArchiveStore, ImportInbox

REMEMBERED_KEYS = 1000  # run keys kept in the cursor, newest last


def _load_cursor(raw: str | None) -> dict[str, list[str] | dict[str, str]]:
    if not raw:
        return {"launched": [], "hashes": {}}
    data = orjson.loads(raw)
    return {"launched": list(data.get("launched", [])), "hashes": dict(data.get("hashes", {}))}


@dg.sensor(
    name=IMPORT_INBOX_SENSOR,
    job_name=IMPORT_JOB,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def import_inbox_sensor(
    context: dg.SensorEvaluationContext, import_inbox: ImportInbox, archive_store: ArchiveStore
) -> dg.SensorResult | dg.SkipReason:
    """Import each archive dropped in the inbox once: a dry run, or an apply from apply/."""
    cursor = _load_cursor(context.cursor)
    launched: list[str] = cursor["launched"]  # type: ignore[assignment]
    known_hashes: dict[str, str] = cursor["hashes"]  # type: ignore[assignment]
    inbox = import_inbox.inbox(archive_store.s3_settings())
    files = inbox.scan()
    if not files:
        return dg.SkipReason(f"no archive waiting in {inbox.description}")

    requests: list[dg.RunRequest] = []
    notes: list[str] = []
    hashes: dict[str, str] = {}
    for file in files:
        if not is_settled(file, import_inbox.settle_seconds):
            notes.append(f"{file.name}: still being written, waiting")
            continue
        identity = file.identity
        sha = known_hashes.get(identity) or inbox.sha256(file)
        hashes[identity] = sha
        mode = "apply" if file.apply else "dry_run"
        run_key = f"{mode}:{sha}"
        if run_key in launched:
            notes.append(
                f"{file.name}: these bytes were already imported ({mode}, sha256 {sha[:12]}); "
                "no second run — remove the file"
            )
            continue
        launched.append(run_key)
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                run_config={
                    "ops": {
                        "import_archive": {
                            "config": {"archive": file.location, "dry_run": not file.apply}
                        }
                    }
                },
                tags={
                    "bgw/archive_sha256": sha,
                    "bgw/import_mode": mode,
                    "bgw/inbox_file": file.name,
                },
            )
        )
    new_cursor = orjson.dumps({"launched": launched[-REMEMBERED_KEYS:], "hashes": hashes}).decode()
    if not requests:
        return dg.SensorResult(skip_reason=dg.SkipReason("; ".join(notes)), cursor=new_cursor)
    return dg.SensorResult(run_requests=requests, cursor=new_cursor)
