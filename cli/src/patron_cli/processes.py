"""Background processes of the local stack: pid files, logs, clean stops."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ManagedProcess:
    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path

    def pid_file(self, run_dir: Path) -> Path:
        return run_dir / f"{self.name}.pid"


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if is_alive(pid) else None


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1]
    except OSError:
        return True
    return state != "Z"


def start(process: ManagedProcess, *, run_dir: Path, log_dir: Path) -> tuple[int, bool]:
    """Start unless already running; returns (pid, started_now)."""
    pid_file = process.pid_file(run_dir)
    if (pid := read_pid(pid_file)) is not None:
        return pid, False
    log_path = log_dir / f"{process.name}.log"
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            process.command,
            cwd=process.cwd,
            env=process.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends its children too
        )
    pid_file.write_text(str(child.pid))
    return child.pid, True


def stop(name: str, *, run_dir: Path, timeout_s: float = 20.0) -> bool:
    """SIGTERM the process group, then SIGKILL after `timeout_s`; True if it was running."""
    pid_file = run_dir / f"{name}.pid"
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if is_alive(pid):
        _signal_group(pid, signal.SIGKILL)
    _reap(pid)
    pid_file.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
