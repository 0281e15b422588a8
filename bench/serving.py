"""What the benches share: percentiles, and a real `shopclerk serve` as a child process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def shopclerk_serve(
    data_dir: Path, env: Mapping[str, str], *options: str
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`shopclerk serve` on a free loopback port until the block ends: (port, process)."""
    port = free_port()
    # Every bench client connects from 127.0.0.1: lift the per-address connection cap unless
    # the bench's environment sets one (to measure the cap itself).
    env = {"SHOPCLERK_CONNECTIONS_PER_ADDRESS": "1000000", **env}
    shopclerk = str(Path(sys.executable).parent / "shopclerk")
    command = [shopclerk, "--data-dir", str(data_dir), "serve", "--port", str(port), *options]
    server = subprocess.Popen(
        command, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        yield port, server
    finally:
        server.terminate()
        server.wait(timeout=30)
