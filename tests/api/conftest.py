"""A real `tweeling serve` process on the demo store, for clients that speak HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(demo_store_url: str) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>/v1``) of a server process reading the demo store.

    Module-scoped: the server holds the embedded store open, and other tests write to it later.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tweeling.cli", "serve", "--store-url", demo_store_url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"tweeling serve did not start: {process.stderr.read() if process.stderr else ''}"
                )
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
