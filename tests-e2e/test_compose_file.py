"""The Docker deployment files agree with the code, checked without a Docker engine.

docker-compose.yml, the service Dockerfiles, the gateway config and the PostgreSQL init
script are read as text/YAML and compared with `patron_cli.config.SERVICES`, the topic
contract `patron_shared.events.Topic` and the local stack's gateway routing.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from patron_cli.config import SERVICES, ServiceSpec
from patron_shared.events import Topic
from patron_shared.settings import DEV_JWT_SECRET

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKER_NGINX = REPO / "deploy" / "docker" / "nginx.conf"
LOCAL_NGINX = REPO / "deploy" / "local" / "nginx" / "nginx.conf.template"
POSTGRES_INIT = REPO / "deploy" / "docker" / "postgres-init.sql"
TOPICS_FILE = REPO / "deploy" / "local" / "kafka" / "topics.txt"

INFRASTRUCTURE = ("kafka", "kafka-init", "postgres", "gateway", "mailcatcher")
ONE_SHOT = "service_completed_successfully"

by_service = pytest.mark.parametrize("spec", SERVICES, ids=[s.name for s in SERVICES])


# ------------------------------------------------------------------ helpers ----
@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    definition = services[name]
    assert isinstance(definition, dict)
    return definition


_DEFAULTED = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


def interpolate(value: object) -> str:
    """The value compose uses when no variable is set: `${X:-d}` -> d, `$$` -> `$`."""
    text = str(value)
    text = _DEFAULTED.sub(lambda m: m.group("default") or "", text.replace("$$", "\0"))
    return text.replace("\0", "$")


def environment(name: str) -> dict[str, str]:
    env = service(name).get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(value) for key, value in env.items()}


def command(name: str) -> list[str]:
    value = service(name).get("command")
    assert isinstance(value, list), f"{name}: command should be an exec-form list"
    return [str(part) for part in value]


def depends_on(name: str) -> dict[str, str]:
    deps = service(name).get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {dep: spec.get("condition", "service_started") for dep, spec in deps.items()}


def dockerfile(spec: ServiceSpec) -> str:
    return (REPO / "services" / spec.directory / "Dockerfile").read_text()


def workspace_members() -> list[str]:
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    members: list[str] = []
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        for path in sorted(glob.glob(pattern, root_dir=REPO)):
            if (REPO / path / "pyproject.toml").exists():
                members.append(path)
    return members


def routes(conf: str) -> list[tuple[str, str]]:
    """(regex, upstream) of each regex location with a proxy_pass, in file order."""
    found = re.findall(r"location ~ (\S+) \{\s*proxy_pass http://([^;/$]+);", conf)
    return [(regex, upstream) for regex, upstream in found]


def upstreams(conf: str) -> dict[str, list[str]]:
    blocks = re.findall(r"upstream (\w+) \{(.*?)\}", conf, flags=re.DOTALL)
    return {
        name: re.findall(r"^\s*server (\S+)", body, flags=re.MULTILINE) for name, body in blocks
    }


def route(path: str, table: list[tuple[str, str]]) -> str | None:
    """The upstream nginx picks: regex locations are tried in order, first match wins."""
    for regex, upstream in table:
        if re.search(regex.replace("(?<", "(?P<"), path):
            return upstream
    return None


# ------------------------------------------------------------------ compose ----
def test_the_compose_file_parses_as_a_mapping_of_services() -> None:
    assert isinstance(compose().get("services"), dict)
    assert compose()["services"]


@pytest.mark.parametrize("name", INFRASTRUCTURE)
def test_the_infrastructure_service_is_declared(name: str) -> None:
    assert "image" in service(name)


@by_service
def test_each_service_has_an_api_a_migration_and_a_relay(spec: ServiceSpec) -> None:
    for name in (spec.name, f"{spec.name}-migrate", f"{spec.name}-relay"):
        service(name)


@by_service
def test_the_api_and_its_relay_use_their_database_as_the_application_role(
    spec: ServiceSpec,
) -> None:
    for name in (spec.name, f"{spec.name}-relay"):
        url = make_url(environment(name)["PATRON_DATABASE_URL"])
        assert url.drivername == "postgresql+asyncpg", name
        assert (url.username, url.password) == ("patron_app", "patron_app"), name
        assert (url.host, url.port) == ("postgres", 5432), name
        assert url.database == f"patron_{spec.name}", name


@by_service
def test_the_api_and_its_relay_reach_kafka_and_share_the_jwt_secret(spec: ServiceSpec) -> None:
    for name in (spec.name, f"{spec.name}-relay"):
        env = environment(name)
        assert env["PATRON_KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert env["PATRON_JWT_SECRET"] == DEV_JWT_SECRET, name
        assert env["PATRON_LOG_FORMAT"] == "json", name
        assert "PATRON_JWT_SECRET" in str(service(name)["environment"]["PATRON_JWT_SECRET"])


def test_kafka_advertises_the_address_the_services_use() -> None:
    env = environment("kafka")
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


@by_service
def test_the_migration_runs_alembic_as_the_owner_of_its_database(spec: ServiceSpec) -> None:
    name = f"{spec.name}-migrate"
    env = environment(name)
    url = make_url(env["PATRON_MIGRATION_DATABASE_URL"])
    assert (url.username, url.host, url.database) == ("patron", "postgres", f"patron_{spec.name}")
    assert env["PATRON_DB_APP_ROLE"] == "patron_app"
    assert "PATRON_DATABASE_URL" not in env
    ini = f"services/{spec.directory}/alembic.ini"
    assert command(name) == ["alembic", "-c", ini, "upgrade", "head"]
    assert depends_on(name) == {"postgres": "service_healthy"}


@by_service
def test_the_api_and_its_relay_start_after_the_migration_and_the_topics(
    spec: ServiceSpec,
) -> None:
    for name in (spec.name, f"{spec.name}-relay"):
        deps = depends_on(name)
        assert deps[f"{spec.name}-migrate"] == ONE_SHOT, name
        assert deps["kafka-init"] == ONE_SHOT, name
        assert deps["postgres"] == "service_healthy", name


@by_service
def test_the_relay_runs_relay_main_for_its_service_from_the_same_image(spec: ServiceSpec) -> None:
    relay = f"{spec.name}-relay"
    assert command(relay) == [
        "python",
        "-m",
        "patron_shared.messaging.relay_main",
        "--service",
        spec.name,
    ]
    for companion in (relay, f"{spec.name}-migrate"):
        assert service(companion)["image"] == service(spec.name)["image"], companion
        assert service(companion)["build"] == service(spec.name)["build"], companion


@by_service
def test_the_service_image_is_built_from_its_own_dockerfile(spec: ServiceSpec) -> None:
    build = service(spec.name)["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == f"services/{spec.directory}/Dockerfile"


def test_every_dockerfile_named_by_the_compose_file_exists() -> None:
    built = {name: s["build"] for name, s in compose()["services"].items() if "build" in s}
    assert len(built) == 3 * len(SERVICES)
    for name, build in built.items():
        path = REPO / build["context"] / build["dockerfile"]
        assert path.is_file(), f"{name}: {path} is missing"


def test_only_the_gateway_and_the_mail_ui_publish_ports_by_default() -> None:
    published = {
        name
        for name, definition in compose()["services"].items()
        if definition.get("ports") and not definition.get("profiles")
    }
    assert published == {"gateway", "mailcatcher"}
    assert "8080:8080" in service("gateway")["ports"]


def test_notifications_send_mail_to_the_mail_catcher() -> None:
    env = environment("notifications")
    assert (env["PATRON_SMTP_HOST"], env["PATRON_SMTP_PORT"]) == ("mailcatcher", "1025")


def test_profile_gets_its_paging_and_phone_settings() -> None:
    env = environment("profile")
    assert env["CUSTOMERS_PER_PAGE"] == "20"
    assert env["CUSTOMERS_MAX_PER_PAGE"] == "100"
    assert env["PROFILE_PHONE_DEFAULT_REGION"] == "US"


# ------------------------------------------------------------------- topics ----
def read_topics_file() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in TOPICS_FILE.read_text().splitlines())
    return [line for line in lines if line]


def test_topics_txt_lists_exactly_the_topics_of_the_contract() -> None:
    listed = read_topics_file()
    assert len(listed) == len(set(listed)), "a topic is listed twice"
    assert set(listed) == {topic.value for topic in Topic}


def test_kafka_init_creates_every_listed_topic_and_its_dead_letter_topic(tmp_path: Path) -> None:
    mounts = {
        str(volume).split(":")[1]: str(volume).split(":")[0]
        for volume in service("kafka-init")["volumes"]
    }
    target = next(t for t, source in mounts.items() if source == "./deploy/local/kafka/topics.txt")
    assert service("kafka-init")["entrypoint"] == ["/bin/bash", "-c"]
    script = interpolate(command("kafka-init")[0])
    tool = "/opt/kafka/bin/kafka-topics.sh"
    assert target in script
    assert tool in script

    # Run the script with kafka-topics.sh and kafka-configs.sh replaced by recorders of
    # what they are asked.
    record, altered = tmp_path / "created", tmp_path / "altered"
    configs_tool = "/opt/kafka/bin/kafka-configs.sh"
    recorder = (
        f'kafka_topics() {{ echo "$*" >> {record}; }}\n'
        f'kafka_configs() {{ echo "$*" >> {altered}; }}\n'
    )
    local = (
        script.replace(tool, "kafka_topics")
        .replace(configs_tool, "kafka_configs")
        .replace(target, str(TOPICS_FILE))
    )
    bash = shutil.which("bash")
    assert bash is not None
    subprocess.run([bash, "-c", recorder + local], check=True, capture_output=True, timeout=30)

    calls = record.read_text().splitlines()
    created = [m.group(1) for call in calls if (m := re.search(r"--topic (\S+)", call))]
    assert len(created) == len(calls)
    expected = {topic.value for topic in Topic} | {topic.dlq for topic in Topic}
    assert sorted(created) == sorted(expected)
    week = "retention.ms=604800000"  # PATRON_DLQ_RETENTION_HOURS' default, 168
    for call in calls:
        assert "--create" in call
        assert "--bootstrap-server kafka:9092" in call
        assert "--partitions 12" in call
        assert (week in call) == call.split("--topic ")[1].split()[0].endswith(".dlq")
    # dead-letter topics that already existed get the retention too
    alterations = altered.read_text().splitlines()
    assert sorted(re.findall(r"--entity-name (\S+)", "\n".join(alterations))) == sorted(
        topic.dlq for topic in Topic
    )
    assert all("--alter --entity-type topics" in a and week in a for a in alterations)


# ------------------------------------------------------------------ gateway ----
def test_the_gateway_mounts_the_docker_nginx_config() -> None:
    volumes = [str(v) for v in service("gateway")["volumes"]]
    assert "./deploy/docker/nginx.conf:/etc/nginx/nginx.conf:ro" in volumes
    assert re.search(r"^\s*listen 8080;", DOCKER_NGINX.read_text(), flags=re.MULTILINE)


def test_each_gateway_upstream_is_the_compose_service_on_its_port() -> None:
    found = upstreams(DOCKER_NGINX.read_text())
    assert set(found) == {spec.name for spec in SERVICES}
    for spec in SERVICES:
        [server] = found[spec.name]
        assert server == f"{spec.name}:{spec.port}"
        service(spec.name)


def test_the_gateway_routes_like_the_local_gateway() -> None:
    docker = routes(DOCKER_NGINX.read_text())
    assert docker, "no proxied regex locations found"
    assert docker == routes(LOCAL_NGINX.read_text())


@pytest.mark.parametrize(
    ("path", "upstream"),
    [
        ("/api/v1/customers", "profile"),
        ("/api/v1/customers/0b8f/addresses", "profile"),
        ("/api/v1/identity/resolve", "identity"),
        ("/api/v1/segments", "segmentation"),
        ("/api/v1/customers/vip", "segmentation"),
        ("/api/v1/customers/0b8f/insights", "segmentation"),
        ("/api/v1/insights/model", "segmentation"),
        ("/api/v1/customers/rfm", "segmentation"),
        ("/api/v1/reports/summary", "segmentation"),
        ("/api/v1/loyalty/tiers", "loyalty"),
        ("/api/v1/customers/0b8f/points", "loyalty"),
        ("/api/v1/templates", "notifications"),
        ("/api/v1/customers/0b8f/preferences", "notifications"),
        ("/services/loyalty/ready", None),  # probes proxy to $patron_service, not a name
        ("/nothing/here", None),
    ],
)
def test_the_gateway_sends_a_path_to_its_service(path: str, upstream: str | None) -> None:
    assert route(path, routes(DOCKER_NGINX.read_text())) == upstream


# --------------------------------------------------------------- dockerfiles ----
@by_service
def test_the_dockerfile_exposes_and_serves_the_service_port(spec: ServiceSpec) -> None:
    text = dockerfile(spec)
    assert re.findall(r"^EXPOSE (\d+)\s*$", text, flags=re.MULTILINE) == [str(spec.port)]
    assert f'"--port", "{spec.port}"' in text
    assert f"http://127.0.0.1:{spec.port}/health" in text
    assert f'"{spec.package}.app:create_app", "--factory"' in text


@by_service
def test_the_dockerfile_installs_only_its_service_from_the_whole_workspace(
    spec: ServiceSpec,
) -> None:
    text = dockerfile(spec)
    assert re.match(r"(# .*\n|\s*\n)*ARG PYTHON_IMAGE=python:3\.11-slim\n", text)
    assert "pip install --no-cache-dir" in text
    assert '"uv==${UV_VERSION}"' in text
    for member in workspace_members():
        assert f"COPY {member}/pyproject.toml {member}/" in text, member
    syncs = re.findall(r"uv sync (.*)", text)
    assert len(syncs) == 2
    assert all(f"--frozen --no-dev --package patron-{spec.name}" in s for s in syncs)
    assert "--no-install-workspace" in syncs[0]
    assert f"COPY services/{spec.directory}/migrations services/{spec.directory}/migrations" in (
        text
    )


@by_service
def test_the_dockerfile_runs_as_an_unprivileged_user(spec: ServiceSpec) -> None:
    users = re.findall(r"^USER (\S+)", dockerfile(spec), flags=re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")


# ----------------------------------------------------------------- postgres ----
def test_postgres_runs_the_init_script_and_creates_every_service_database() -> None:
    volumes = [str(v) for v in service("postgres")["volumes"]]
    assert any(
        v.startswith("./deploy/docker/postgres-init.sql:/docker-entrypoint-initdb.d/")
        for v in volumes
    )
    sql = POSTGRES_INIT.read_text()
    created = set(re.findall(r"CREATE DATABASE (\w+) OWNER patron", sql))
    assert created == {f"patron_{spec.name}" for spec in SERVICES}
    role = re.search(r"CREATE ROLE patron_app (.*?);", sql, flags=re.DOTALL)
    assert role is not None
    for attribute in ("LOGIN", "NOSUPERUSER", "NOBYPASSRLS", "PASSWORD 'patron_app'"):
        assert attribute in role.group(1)
