"""A real `tweeling serve` process on the demo store, for clients that speak HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.helpers import TEST_TOKEN_KEY


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    store_url: str, *, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A `tweeling serve` process on ``store_url``; yields (root URL, process)."""
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="tweeling-server-")
    env = {
        **os.environ,
        "TWEELING_TOKEN_KEY": TEST_TOKEN_KEY,
        "TWEELING_DATA_DIR": data_dir,
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tweeling.cli",
            "serve",
            "--store-url",
            store_url,
            "--port",
            str(port),
            "--no-viewer-build",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{root}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                _, errors = process.communicate(timeout=10)
                raise RuntimeError(f"tweeling serve did not start: {errors}")
            time.sleep(0.2)
        yield root, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def server_url(demo_store_url: str) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>/v1``) of a server process reading the demo store.

    Module-scoped: the server holds the embedded store open, and other tests write to it later.
    """
    with running_server(demo_store_url) as (root, _):
        yield f"{root}/v1"
