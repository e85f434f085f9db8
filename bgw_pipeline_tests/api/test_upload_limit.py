"""A 101 MB upload is refused with 413 while the server's memory stays flat."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlparse

from bgw_pipeline_tests.api.live_server import live_server, server_env

MB = 1024 * 1024


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _post(base: str, total: int, chunked: bool) -> bytes:
    """Send a multipart upload of `total` bytes; return the status line and what came back."""
    url = urlparse(base)
    head = [b"POST /api/v1/export/full?dry_run=true HTTP/1.1", f"Host: {url.netloc}".encode(),
            b"Content-Type: multipart/form-data; boundary=xyz"]  # fmt: skip
    head.append(b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}".encode())
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        preamble = (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.zip"'
                    b"\r\nContent-Type: application/zip\r\n\r\n")  # fmt: skip
        sock.sendall(b"%x\r\n" % len(preamble) + preamble + b"\r\n" if chunked else preamble)
        sent, block = len(preamble), b"\0" * MB
        try:
            while sent < total:
                data = (b"%x\r\n" % len(block) + block + b"\r\n") if chunked else block
                sock.sendall(data)
                sent += len(block)
        except OSError:
            pass  # the server answered and closed while we were still sending: expected
        answer = b""
        while b"}" not in answer:
            try:
                chunk = sock.recv(4096)
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_101_mb_upload_gets_413_and_memory_stays_flat(tmp_path: Path) -> None:
    env = server_env(tmp_path, f"sqlite:///{tmp_path / 'bgw.db'}")
    with live_server(env, tmp_path) as base:
        before = _rss_mb(base.pid)
        for chunked in (False, True):
            answer = _post(base, 101 * MB, chunked)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert b"limit" in answer
        after = _rss_mb(base.pid)
    assert after - before < 30, f"server memory grew from {before:.0f} to {after:.0f} MB"
