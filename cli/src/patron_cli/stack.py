"""`patron stack up|down|status`: the whole system as plain local processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping

import httpx

from patron_cli import demo
from patron_cli.config import SERVICES, ServiceSpec, StackConfig
from patron_cli.processes import ManagedProcess, read_pid, start, stop
from patron_shared.auth import mint_dev_token

SINKS = "sinks"
Callback = Callable[[str], None]


def _script(config: StackConfig, component: str) -> list[str]:
    return ["bash", str(config.root / "deploy" / "local" / component / f"{component}.sh")]


def _run(command: list[str], *, config: StackConfig, env: dict[str, str] | None = None) -> None:
    subprocess.run(command, check=True, cwd=config.root, env=env or _base_env(config))


def _base_env(config: StackConfig) -> dict[str, str]:
    return os.environ | {
        "PATRON_STACK_DIR": str(config.stack_dir),
        "PATRON_PG_PORT": str(config.pg_port),
        "PATRON_KAFKA_PORT": str(config.kafka_port),
        "PATRON_GATEWAY_PORT": str(config.gateway_port),
    }


def start_infrastructure(config: StackConfig, say: Callback) -> None:
    for directory in (config.run_dir, config.log_dir):
        directory.mkdir(parents=True, exist_ok=True)
    say("PostgreSQL: install if missing, start the private cluster, create databases")
    for action in ("install", "start", "create-dbs"):
        _run([*_script(config, "postgres"), action], config=config)
    say("Kafka: fetch jars from Maven Central, start KRaft broker, create topics")
    for action in ("fetch", "start"):
        _run([*_script(config, "kafka"), action], config=config)
    say("Migrations: alembic upgrade head for every service database")
    for service in SERVICES:
        migrate(config, service)


def migrate(config: StackConfig, service: ServiceSpec) -> None:
    env = _base_env(config) | {"PATRON_MIGRATION_DATABASE_URL": config.owner_url(service)}
    ini = config.root / "services" / service.directory / "alembic.ini"
    _run(
        [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "heads"],
        config=config,
        env=env,
    )


def service_env(config: StackConfig, service: ServiceSpec) -> dict[str, str]:
    env = _base_env(config) | {
        "PATRON_DATABASE_URL": config.app_url(service),
        "PATRON_KAFKA_BOOTSTRAP": config.kafka_bootstrap,
        "PATRON_JWT_SECRET": config.jwt_secret,
    }
    if service.name == "profile":
        # the GDPR export reads every other service's part on its own URL
        env |= {
            f"PATRON_{other.name.upper()}_URL": f"http://127.0.0.1:{other.port}"
            for other in SERVICES
            if other is not service
        }
    if service.name == "notifications":
        env |= channel_env(config)
    return env


def channel_env(config: StackConfig) -> dict[str, str]:
    """Where the notifications service sends: the sinks on the ports this stack starts them
    on, and the gateway that providers' status callbacks and unsubscribe links reach."""
    return {
        "PATRON_SMTP_HOST": "127.0.0.1",
        "PATRON_SMTP_PORT": str(config.smtp_port),
        "PATRON_SMTP_SECURITY": "none",
        "PATRON_SMS_API_URL": f"http://127.0.0.1:{config.sms_port}",
        "PATRON_PUBLIC_BASE_URL": config.gateway_url,
    }


def application_processes(config: StackConfig) -> list[ManagedProcess]:
    processes: list[ManagedProcess] = []
    for service in SERVICES:
        env = service_env(config, service)
        processes.append(
            ManagedProcess(
                name=service.name,
                command=[
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"{service.package}.app:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(service.port),
                    "--no-access-log",
                    "--timeout-graceful-shutdown",
                    "10",
                ],
                env=env,
                cwd=config.root,
            )
        )
        processes.append(relay_process(config, service))
    processes.append(
        ManagedProcess(
            name=SINKS,
            command=[
                sys.executable,
                "-m",
                "patron_cli.sinks",
                "--smtp-port",
                str(config.smtp_port),
                "--mail-http-port",
                str(config.mail_http_port),
                "--sms-port",
                str(config.sms_port),
            ],
            env=_base_env(config),
            cwd=config.root,
        )
    )
    return processes


def relay_process(config: StackConfig, service: ServiceSpec) -> ManagedProcess:
    return ManagedProcess(
        name=f"{service.name}-relay",
        command=[
            sys.executable,
            "-m",
            "patron_shared.messaging.relay_main",
            "--service",
            service.name,
        ],
        env=service_env(config, service),
        cwd=config.root,
    )


def up(config: StackConfig, *, infra_only: bool, say: Callback = print) -> None:
    connectors: dict[str, str] = {}
    start_infrastructure(config, say)
    write_env_file(config, infra_only=True)  # usable even if a later step fails
    if not infra_only:
        say("Services, relays and the mail/SMS sink")
        for process in application_processes(config):
            pid, started = start(process, run_dir=config.run_dir, log_dir=config.log_dir)
            say(f"  {process.name:<22} {'started' if started else 'running'} (pid {pid})")
        say("Gateway: nginx on " + config.gateway_url)
        for action in ("install", "start"):
            _run([*_script(config, "nginx"), action], config=config)
        wait_until_ready(config, SERVICES)
        connectors = dev_connectors(config, say)
    write_env_file(config, infra_only=infra_only, extra=connectors)


def wait_until_ready(
    config: StackConfig, services: Iterable[ServiceSpec], timeout_s: float = 120.0
) -> None:
    pending = {service.name: service for service in services}
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=3) as client:
        while pending and time.monotonic() < deadline:
            for name, service in list(pending.items()):
                try:
                    if client.get(f"http://127.0.0.1:{service.port}/ready").status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            if pending:
                time.sleep(0.5)
    if pending:
        logs = ", ".join(str(config.log_dir / f"{name}.log") for name in pending)
        raise RuntimeError(f"not ready after {timeout_s:.0f}s: {sorted(pending)}; see {logs}")


def dev_connectors(config: StackConfig, say: Callback = print) -> dict[str, str]:
    """Tenant `demo`'s development source connectors: their gateway webhook URLs and
    secrets for `.stack/env`. A stack whose identity service refuses them still runs."""
    token = mint_dev_token(
        secret=config.jwt_secret, tenant=demo.DEMO_TENANT, roles=["admin"], subject="dev-admin"
    )
    try:
        values = demo.ensure_dev_connectors(config.gateway_url, token, config.jwt_secret)
    except httpx.HTTPError as error:
        say(f"Source connectors: not registered ({error})")
        return {}
    sources = ", ".join(source for source, _ in demo.DEV_CONNECTORS)
    say(f"Source connectors: {sources} (tenant 'demo'; webhook URLs in .stack/env)")
    return values


def write_env_file(
    config: StackConfig, *, infra_only: bool, extra: Mapping[str, str] | None = None
) -> None:
    token = mint_dev_token(
        secret=config.jwt_secret, tenant="demo", roles=["admin"], subject="dev-admin"
    )
    values = {
        "PATRON_KAFKA_BOOTSTRAP": config.kafka_bootstrap,
        "PATRON_PG_DSN": config.superuser_dsn(),
        "PATRON_DEV_TOKEN": token,
        "PATRON_JWT_SECRET": config.jwt_secret,
    }
    if not infra_only:
        values |= {
            "PATRON_GATEWAY_URL": config.gateway_url,
            "PATRON_SMTP_SINK_URL": f"http://127.0.0.1:{config.mail_http_port}",
            "PATRON_SMS_SINK_URL": f"http://127.0.0.1:{config.sms_port}",
        }
        values |= channel_env(config)
        for service in SERVICES:
            values[f"PATRON_{service.name.upper()}_URL"] = f"http://127.0.0.1:{service.port}"
        values |= dict(extra or {})
    config.env_file.write_text("".join(f"{key}={value}\n" for key, value in values.items()))


def restart_applications(config: StackConfig, *, say: Callback = print) -> None:
    """New code or migrations: restart services, relays and sinks; infrastructure stays up."""
    for process in reversed(application_processes(config)):
        if stop(process.name, run_dir=config.run_dir):
            say(f"  stopped {process.name}")
    up(config, infra_only=False, say=say)


def down(config: StackConfig, *, say: Callback = print) -> None:
    if (config.stack_dir / "nginx").exists():
        _run([*_script(config, "nginx"), "stop"], config=config)
    for process in reversed(application_processes(config)):
        if stop(process.name, run_dir=config.run_dir):
            say(f"  stopped {process.name}")
    _run([*_script(config, "kafka"), "stop"], config=config)
    _run([*_script(config, "postgres"), "stop"], config=config)


def status(config: StackConfig) -> dict[str, bool]:
    states = {
        p.name: read_pid(p.pid_file(config.run_dir)) is not None
        for p in application_processes(config)
    }
    for component in ("postgres", "kafka", "nginx"):
        result = subprocess.run(
            [*_script(config, component), "status"],
            cwd=config.root,
            env=_base_env(config),
            capture_output=True,
            check=False,
        )
        states[component] = result.returncode == 0
    return states
