"""An S3 server that answers 500s or stalls: a small proxy on loopback in front of the
moto server decides, request by request. Brief trouble is retried away; lasting trouble
is a transient error with a sentence, and the archive stays on the local disk."""

from __future__ import annotations

import http.client
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from bgw_pipeline.core.model.errors import TransientError
from bgw_pipeline.core.storage.s3_storage import S3Storage
from bgw_pipeline_tests.reliability.tally import record
from bgw_pipeline_tests.s3_server import ACCESS_KEY, SECRET_KEY, new_bucket

INTERNAL_ERROR = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
                  b"<Message>We encountered an internal error.</Message></Error>")  # fmt: skip


class Trouble:
    """What the proxy does next: fail the next `fail` requests, stall each by `stall` s."""

    def __init__(self) -> None:
        self.fail = 0
        self.stall = 0.0
        self.seen = 0
        self.lock = threading.Lock()


@contextmanager
def troubled_proxy(upstream: str, trouble: Trouble) -> Iterator[str]:
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with trouble.lock:
                trouble.seen += 1
                failing = trouble.fail > 0
                trouble.fail -= failing
            if trouble.stall:
                time.sleep(trouble.stall)
            if failing:
                self.send_response(500)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(INTERNAL_ERROR)))
                self.end_headers()
                self.wfile.write(INTERNAL_ERROR)
                return
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            skip = {"transfer-encoding", "connection"} | (
                set() if self.command == "HEAD" else {"content-length"}
            )  # a HEAD's Content-Length is the object's size: passed on as it is
            for key, value in answer.getheaders():
                if key.lower() not in skip:
                    self.send_header(key, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _storage(endpoint: str, bucket: str, read_timeout: float) -> S3Storage:
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5,
                      read_timeout=read_timeout),
    )  # fmt: skip
    from bgw_pipeline.core.storage.s3_storage import S3Settings

    return S3Storage(S3Settings(bucket, endpoint, ACCESS_KEY, SECRET_KEY), client=client)


@contextmanager
def _troubled_storage(s3_endpoint: str, read_timeout: float) -> Iterator[tuple[S3Storage, Trouble]]:
    """A fresh bucket reached through the troubled proxy, and the proxy's controls."""
    bucket = new_bucket(s3_endpoint).bucket
    trouble = Trouble()
    with troubled_proxy(s3_endpoint, trouble) as proxy:
        yield _storage(proxy, bucket, read_timeout), trouble


def _archive(folder: Path) -> Path:
    path = folder / "bgw_backup_20261207T070000Z.zip"
    path.write_bytes(os.urandom(256 * 1024))
    return path


def test_brief_500s_are_retried_and_lasting_500s_fail_clearly(
    s3_endpoint: str, tmp_path: Path
) -> None:
    with _troubled_storage(s3_endpoint, read_timeout=30) as (storage, trouble):
        trouble.fail = 2  # the service hiccups twice
        first = _archive(tmp_path)
        storage.store(first)
        brief_ok = [a.name for a in storage.list_archives()] == [first.name]
        trouble.fail = 1000  # and then stays down
        second = tmp_path / "bgw_backup_20261207T080000Z.zip"
        second.write_bytes(os.urandom(1024))
        try:
            storage.store(second)
            lasting = None
        except TransientError as exc:
            lasting = str(exc)
    ok = brief_ok and lasting is not None and "InternalError" in lasting and second.exists()
    record("fault", "S3 answering 500s (twice, then for good)", ok, rows_lost=0,
           requests_seen=trouble.seen)  # fmt: skip
    assert ok, (brief_ok, lasting)


def test_a_stalled_server_times_out_then_the_next_try_works(
    s3_endpoint: str, tmp_path: Path
) -> None:
    with _troubled_storage(s3_endpoint, read_timeout=1) as (storage, trouble):
        archive = _archive(tmp_path)
        trouble.stall = 3.0  # no byte for longer than the read timeout
        started = time.monotonic()
        try:
            storage.store(archive)
            stalled = None
        except TransientError as exc:
            stalled = str(exc)
        waited = time.monotonic() - started
        trouble.stall = 0.0
        storage.store(archive)  # the run's retry, once the server answers again
        listed = [a.name for a in storage.list_archives()]
    ok = stalled is not None and waited < 60 and listed == [archive.name]
    record("fault", "S3 stalling past the read timeout, then answering", ok, rows_lost=0,
           gave_up_after_s=round(waited, 1))  # fmt: skip
    assert ok, (stalled, waited, listed)
