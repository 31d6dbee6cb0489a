"""The `patron` command: local stack control and development helpers."""

from __future__ import annotations

from typing import Annotated

import typer

from patron_cli import demo, stack
from patron_cli.config import StackConfig
from patron_cli.customers import customers_app
from patron_cli.identity import identity_app
from patron_shared.auth import ROLES, mint_dev_token

app = typer.Typer(help="Patron: open-source customer platform for commerce.", no_args_is_help=True)
stack_app = typer.Typer(
    help="The local stack: PostgreSQL, Kafka, services, gateway.", no_args_is_help=True
)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(demo_app, name="demo")
app.add_typer(identity_app, name="identity")
app.add_typer(customers_app, name="customers")


@stack_app.command("up")
def stack_up(
    infra: Annotated[
        bool, typer.Option("--infra", help="only PostgreSQL, Kafka, migrations")
    ] = False,
    seed: Annotated[bool, typer.Option("--seed/--no-seed", help="load demo data")] = False,
) -> None:
    """Start everything (idempotent) and write .stack/env."""
    config = StackConfig()
    stack.up(config, infra_only=infra, say=typer.echo)
    if seed and not infra:
        _seed(config)
    typer.echo("")
    if not infra:
        typer.echo(f"Patron is running. Gateway: {config.gateway_url}/api/v1/customers")
        typer.echo("  API docs:   http://127.0.0.1:8001/docs (profile; 8002-8005 the others)")
        typer.echo(
            f"  Mail sink:  http://127.0.0.1:{config.mail_http_port}/messages (every email sent)"
        )
        typer.echo(f"  SMS sink:   http://127.0.0.1:{config.sms_port}/messages (every SMS sent)")
        typer.echo(f"  Logs:       {config.log_dir}/")
    typer.echo(f"  Settings:   {config.env_file} (source it: set -a; . {config.env_file}; set +a)")
    typer.echo(
        '  Try:        curl -H "Authorization: Bearer $PATRON_DEV_TOKEN" '
        "$PATRON_GATEWAY_URL/api/v1/customers"
    )
    if not infra:
        typer.echo(
            '  Report:     curl -H "Authorization: Bearer $PATRON_DEV_TOKEN" '
            '-H "Accept: application/pdf" -o report.pdf $PATRON_GATEWAY_URL/api/v1/reports/summary'
        )
        typer.echo(
            '  Loyalty:    curl -H "Authorization: Bearer $PATRON_DEV_TOKEN" '
            "$PATRON_GATEWAY_URL/api/v1/customers/<id>/loyalty (points, tier, card)"
        )
        typer.echo(
            '  Messages:   curl -H "Authorization: Bearer $PATRON_DEV_TOKEN" '
            "$PATRON_GATEWAY_URL/api/v1/customers/<id>/notifications (what was sent, and why not)"
        )


@stack_app.command("restart")
def stack_restart() -> None:
    """Apply migrations and restart the services, relays and sinks (after a code change)."""
    config = StackConfig()
    stack.restart_applications(config, say=typer.echo)
    typer.echo(f"Patron restarted. Gateway: {config.gateway_url}/api/v1/customers")


@stack_app.command("down")
def stack_down() -> None:
    """Stop everything `stack up` started."""
    stack.down(StackConfig(), say=typer.echo)
    typer.echo("Patron stopped.")


@stack_app.command("status")
def stack_status() -> None:
    """Which parts of the stack are running."""
    states = stack.status(StackConfig())
    for name, running in states.items():
        typer.echo(f"{name:<24} {'running' if running else 'stopped'}")
    if not all(states.values()):
        raise typer.Exit(3)


@demo_app.command("seed")
def demo_seed() -> None:
    """Load demo customers and orders into tenant `demo` (safe to repeat)."""
    _seed(StackConfig())


def _seed(config: StackConfig) -> None:
    token = mint_dev_token(secret=config.jwt_secret, tenant=demo.DEMO_TENANT, roles=["admin"])
    customers, orders = demo.seed(config.gateway_url, token, config.kafka_bootstrap)
    typer.echo(f"Demo data: {customers} customers, {orders} order events (tenant 'demo').")


@app.command("token")
def token(
    tenant: Annotated[str, typer.Option(help="tenant the token acts for")] = "demo",
    role: Annotated[
        list[str] | None, typer.Option(help=f"one of {', '.join(ROLES)}; repeatable")
    ] = None,
    subject: Annotated[str, typer.Option(help="the caller's id (sub claim)")] = "dev-user",
    ttl_days: Annotated[int, typer.Option(min=1, max=365)] = 30,
) -> None:
    """Print a development JWT (HS256 with PATRON_JWT_SECRET)."""
    from datetime import timedelta  # noqa: PLC0415 - keeps CLI start-up lean

    roles = role or ["admin"]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise typer.BadParameter(f"unknown role(s): {', '.join(unknown)}", param_hint="--role")
    typer.echo(
        mint_dev_token(
            secret=StackConfig().jwt_secret,
            tenant=tenant,
            roles=roles,
            subject=subject,
            ttl=timedelta(days=ttl_days),
        )
    )


if __name__ == "__main__":
    app()
