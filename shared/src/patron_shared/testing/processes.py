"""A service as a process of its own, for tests and benchmarks that start, stop or kill it:
its own process group, its output in a log file, and its consumers on topics of the run's
own (so that no one else's events reach it and it reads no one else's history)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from patron_shared.testing.infra import REPO_ROOT

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class ChildProcess:
    """`command` run from the repository root with `env`, logging to `<logs>/<name>.log`."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def check(self) -> None:
        """Raise, with the end of its log, if the process has exited."""
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def wait_ready(self, port: int, limit_s: float = 90.0, path: str = "/ready") -> None:
        """Until `path` answers 200 on `port`; raises with the log if it does not in time."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            self.check()
            if await asyncio.to_thread(_answers, port, path):
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready in {limit_s} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """A crash: no shutdown, no last offset commit, transactions cut where they are."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL after 20 s."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def _answers(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def serve_on_topics(
    create_app: Callable[[], Any],
    port: int,
    topics: Mapping[str, str],
    *,
    other_topics: str | None = None,
) -> None:
    """Run the app as `uvicorn <service>.app:create_app --factory` does (one worker), each of
    its consumers reading `topics[topic]` instead of `topic`; a topic not in `topics` is
    read as `other_topics` (a topic nobody writes keeps those consumers idle), or as is."""
    import uvicorn  # noqa: PLC0415 - only the served process needs it

    from patron_shared.http import ServiceRuntime  # noqa: PLC0415

    production = ServiceRuntime.event_consumer

    def event_consumer(
        runtime: ServiceRuntime, name: str, consumed: Sequence[str], *args: Any, **kwargs: Any
    ) -> Any:
        ours = {topics.get(str(t), other_topics or str(t)) for t in consumed}
        return production(runtime, name, sorted(ours), *args, **kwargs)

    # every consumer an app builds comes from its runtime: one place to redirect them
    with mock.patch.object(ServiceRuntime, "event_consumer", event_consumer):
        app = create_app()
    uvicorn.run(app, host=HOST, port=port, workers=1, access_log=False, log_level="warning")
