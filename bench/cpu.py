"""CPU accounting for the benchmarks: what each process of the machine used, from /proc."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# processes the roles do not name, by their command name
_KNOWN = {"postgres": "postgres", "java": "kafka"}


def process_cpu() -> dict[int, tuple[str, float]]:
    """User + system CPU seconds of every process on this machine: pid -> (name, seconds)."""
    found: dict[int, tuple[str, float]] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue  # the process ended meanwhile
            name, _, rest = stat.partition(" (")[2].rpartition(")")
            fields = rest.split()
            found[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / _TICKS)
    return found


def cpu_used(
    before: dict[int, tuple[str, float]], seconds: float, roles: dict[int, str]
) -> dict[str, float]:
    """Cores used since `before` by each role: `roles` names processes by pid (the
    generator, the service...); PostgreSQL and Kafka are recognised; the rest is "other"."""
    used: dict[str, float] = {}
    for pid, (name, cpu) in process_cpu().items():
        spent = cpu - before.get(pid, (name, 0.0))[1]
        role = roles.get(pid) or _KNOWN.get(name, "other")
        used[role] = used.get(role, 0.0) + spent
    return {role: round(spent / seconds, 3) for role, spent in sorted(used.items())}
