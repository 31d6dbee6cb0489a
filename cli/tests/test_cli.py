"""The patron command: tokens, and what `stack up` would start (no processes started)."""

from __future__ import annotations

import jwt
from typer.testing import CliRunner

from patron_cli.config import SERVICES, StackConfig
from patron_cli.main import app
from patron_cli.stack import application_processes, service_env

runner = CliRunner()


def test_token_prints_a_jwt_for_the_tenant_and_roles_asked_for() -> None:
    result = runner.invoke(
        app, ["token", "--tenant", "acme", "--role", "support", "--role", "marketing"]
    )

    assert result.exit_code == 0, result.output
    claims = jwt.decode(result.output.strip(), StackConfig().jwt_secret, algorithms=["HS256"])
    assert claims["tenant"] == "acme"
    assert claims["roles"] == ["support", "marketing"]
    assert claims["exp"] > claims["iat"]


def test_token_refuses_an_unknown_role() -> None:
    result = runner.invoke(app, ["token", "--role", "superhero"])

    assert result.exit_code != 0
    assert "superhero" in result.output


def test_the_stack_runs_each_service_with_its_relay_and_the_sinks() -> None:
    names = [process.name for process in application_processes(StackConfig())]

    for service in SERVICES:
        assert service.name in names
        assert f"{service.name}-relay" in names
    assert "sinks" in names
    assert len(names) == len(set(names))


def test_each_service_gets_its_own_database_as_the_application_role() -> None:
    config = StackConfig()
    urls = {
        service.name: service_env(config, service)["PATRON_DATABASE_URL"] for service in SERVICES
    }

    assert len(set(urls.values())) == len(SERVICES)
    for name, url in urls.items():
        assert url.endswith(f"/patron_{name}")
        assert "//patron_app:" in url
