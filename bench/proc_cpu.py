"""CPU time of this machine and of its processes, read from /proc (Linux), for the benchmarks.

Benchmarks compare CPU seconds before and after a measurement to show who used the machine
meanwhile (the server, PostgreSQL, a broker, the client, anything else).
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq) since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def processes() -> Iterator[tuple[int, int, int, float]]:
    """``(pid, process group, uid, CPU seconds used)`` of every process still running."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            uid = entry.stat().st_uid
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[1].split()  # fields from the 3rd on: state, ppid, pgrp, ...
        yield int(entry.name), int(rest[2]), uid, (int(rest[11]) + int(rest[12])) / CLOCK_TICKS


def postgres_uid() -> int:
    """The uid PostgreSQL's processes run as (-1 when there is no postgres user)."""
    try:
        return pwd.getpwnam("postgres").pw_uid
    except KeyError:
        return -1
