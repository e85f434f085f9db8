"""A real S3-compatible server process on loopback (moto in server mode) for tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

from bgw_pipeline.core.storage.s3_storage import S3Settings

ACCESS_KEY = "test-access-AKIA"
SECRET_KEY = "test-secret-do-not-log-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server(port: int | None = None) -> Iterator[str]:
    """Start `moto.server` on 127.0.0.1; yield its endpoint; stop it afterwards."""
    port = port or free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def new_bucket(endpoint: str) -> S3Settings:
    """A fresh bucket on the server, and the settings that reach it."""
    settings = S3Settings(
        bucket=f"bgw-{uuid.uuid4().hex[:10]}",
        endpoint=endpoint,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region="us-east-1",
    )
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
    ).create_bucket(Bucket=settings.bucket)
    return settings
