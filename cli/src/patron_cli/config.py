"""Ports, paths and credentials of the local stack (all overridable by environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from patron_shared.settings import DEV_JWT_SECRET

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # short name: gateway path /services/<name>/..., database patron_<name>
    directory: str  # under services/
    package: str
    port: int


def _port(variable: str, default: int) -> int:
    return int(os.environ.get(variable, default))


SERVICES = (
    ServiceSpec("profile", "profile", "patron_profile", _port("PATRON_PROFILE_PORT", 8001)),
    ServiceSpec(
        "identity", "identity-merge", "patron_identity", _port("PATRON_IDENTITY_PORT", 8002)
    ),
    ServiceSpec(
        "segmentation",
        "segmentation",
        "patron_segmentation",
        _port("PATRON_SEGMENTATION_PORT", 8003),
    ),
    ServiceSpec("loyalty", "loyalty", "patron_loyalty", _port("PATRON_LOYALTY_PORT", 8004)),
    ServiceSpec(
        "notifications",
        "notifications",
        "patron_notifications",
        _port("PATRON_NOTIFICATIONS_PORT", 8005),
    ),
)


@dataclass(frozen=True)
class StackConfig:
    root: Path = REPO_ROOT
    stack_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("PATRON_STACK_DIR", REPO_ROOT / ".stack"))
    )
    pg_port: int = _port("PATRON_PG_PORT", 55432)
    kafka_port: int = _port("PATRON_KAFKA_PORT", 19092)
    gateway_port: int = _port("PATRON_GATEWAY_PORT", 8080)
    smtp_port: int = _port("PATRON_SMTP_SINK_PORT", 1025)
    mail_http_port: int = _port("PATRON_SMTP_SINK_HTTP_PORT", 8025)
    sms_port: int = _port("PATRON_SMS_SINK_PORT", 8026)
    jwt_secret: str = os.environ.get("PATRON_JWT_SECRET", DEV_JWT_SECRET)

    @property
    def run_dir(self) -> Path:
        return self.stack_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.stack_dir / "logs"

    @property
    def env_file(self) -> Path:
        return self.stack_dir / "env"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def superuser_dsn(self, database: str = "postgres") -> str:
        return f"postgresql://patron:patron@127.0.0.1:{self.pg_port}/{database}"

    def owner_url(self, service: ServiceSpec) -> str:
        return f"postgresql+asyncpg://patron:patron@127.0.0.1:{self.pg_port}/patron_{service.name}"

    def app_url(self, service: ServiceSpec) -> str:
        return (
            f"postgresql+asyncpg://patron_app:patron_app@127.0.0.1:{self.pg_port}"
            f"/patron_{service.name}"
        )
