"""The deployment files and the configuration reference agree with the code.

A variable read in settings but missing from ``.env.example`` or the reference is one an
operator cannot know about; a check id missing from the reference is an error message
nobody can look up. These tests read the files as text and YAML, and run the real
``manage.py check --deploy`` with a production environment built from ``.env.example``.
"""

from __future__ import annotations

import ast
import os
import re
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ops import config as cfg

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "missioncontrol" / "settings.py"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
ENV_EXAMPLE = ROOT / ".env.example"
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
COMPOSE = ROOT / "compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "scripts" / "docker-entrypoint.sh"


def variables_read_in_settings() -> set[str]:
    """Names passed as the first argument of ``env.<reader>("NAME", ...)`` in settings.py."""
    names = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def variables_read_in_gunicorn_conf() -> set[str]:
    """Names passed as the first argument of ``os.environ.get("NAME", ...)`` in gunicorn.conf.py,
    which reads its few variables itself (it runs before Django's settings)."""
    names = set()
    for node in ast.walk(ast.parse(GUNICORN_CONF.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and ast.unparse(node.func.value) == "os.environ"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    return names


def gunicorn_settings(**environment: str) -> dict:
    """The module-level names gunicorn.conf.py defines under ``environment``."""
    import runpy
    from unittest import mock

    with mock.patch.dict(os.environ, environment):
        return runpy.run_path(str(GUNICORN_CONF))


def check_ids() -> set[str]:
    return {value for name, value in vars(cfg).items() if name.startswith("E_") and isinstance(value, str)}


def env_example_values() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match[1]] = match[2]
    return values


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def final_dockerfile_stage() -> list[str]:
    lines = []
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if re.match(r"FROM\s", stripped, re.IGNORECASE):
            lines = []
        lines.append(stripped)
    return lines


def production_environment(values: dict[str, str]) -> dict[str, str]:
    """The environment a process would get from ``values``, plus what a subprocess needs."""
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    environment.update(values)
    # Inside Compose these point at the db and redis services; here the test's own servers
    # stand in (check --deploy does not connect to the database).
    redis_url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL")
    if redis_url:
        environment["REDIS_URL"] = redis_url
    else:
        environment["REDIS_URL"] = ""
        environment["RATE_LIMIT_BACKEND"] = "memory"
    return environment


def with_placeholders_replaced(values: dict[str, str]) -> dict[str, str]:
    return {
        name: re.sub(r"change-me[\w-]*", lambda _: secrets.token_urlsafe(48), value)
        for name, value in values.items()
    }


def run_manage(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


# --- every variable and check id is documented -------------------------------------------


def test_settings_read_the_variables_the_architecture_names():
    # Guards the parser below: if it found nothing, the documentation tests would pass vacuously.
    assert {"DATABASE_URL", "SECRET_KEY", "RATE_LIMIT_BACKEND", "REQUEST_LOG_SLOW_MS"} <= variables_read_in_settings()


def test_every_variable_read_in_settings_is_in_env_example():
    listed = env_example_values()
    missing = sorted(variables_read_in_settings() - set(listed))
    assert missing == []


def test_every_variable_read_in_settings_is_in_the_configuration_reference():
    reference = CONFIGURATION_DOC.read_text(encoding="utf-8")
    missing = sorted(name for name in variables_read_in_settings() if f"`{name}`" not in reference)
    assert missing == []


def test_every_variable_read_in_gunicorn_conf_is_in_env_example_and_both_references():
    names = variables_read_in_gunicorn_conf()
    assert {"WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "WEB_THREADS"} <= names
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    reference = CONFIGURATION_DOC.read_text(encoding="utf-8") + DEPLOYMENT_DOC.read_text(encoding="utf-8")
    # BIND is shown commented out: Compose sets it, and an uncommented line would not apply there.
    assert sorted(name for name in names if not re.search(rf"^(# )?{name}=", example, re.MULTILINE)) == []
    assert sorted(name for name in names if f"`{name}`" not in reference) == []


def test_gunicorn_runs_sync_workers_by_default_and_threads_when_asked():
    from gunicorn.util import load_class
    from gunicorn.workers.sync import SyncWorker

    default = gunicorn_settings(WEB_THREADS="")
    # The sync worker, with a deadline for reading each request (ops.gunicorn_worker).
    assert (default["worker_class"], default["threads"]) == ("ops.gunicorn_worker.SyncWorker", 1)
    assert issubclass(load_class(default["worker_class"]), SyncWorker)
    assert (gunicorn_settings(WEB_THREADS="1")["worker_class"]) == "ops.gunicorn_worker.SyncWorker"
    threaded = gunicorn_settings(WEB_THREADS="4")
    assert (threaded["worker_class"], threaded["threads"]) == ("gthread", 4)


def test_every_configuration_check_id_is_in_the_configuration_reference():
    reference = CONFIGURATION_DOC.read_text(encoding="utf-8")
    assert check_ids(), "ops.config defines no check ids"
    missing = sorted(check_id for check_id in check_ids() if f"`{check_id}`" not in reference)
    assert missing == []


# --- compose.yml ----------------------------------------------------------------------------


def test_compose_defines_the_five_services():
    assert set(load_compose()["services"]) == {"db", "redis", "backend", "worker", "nginx"}


def test_compose_puts_nginx_with_the_shipped_config_in_front_of_the_backend():
    nginx = load_compose()["services"]["nginx"]
    assert nginx["image"].startswith("nginx:")
    assert "./deploy/nginx/missioncontrol.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    assert "./deploy/nginx/upstream-compose.conf:/etc/nginx/conf.d/upstream.conf:ro" in nginx["volumes"]
    assert "${TLS_CERT_DIR:-./deploy/tls}:/etc/nginx/tls:ro" in nginx["volumes"]
    assert nginx["depends_on"]["backend"]["condition"] == "service_healthy"
    assert "server backend:8000;" in (ROOT / "deploy" / "nginx" / "upstream-compose.conf").read_text(encoding="utf-8")


def test_compose_database_is_postgres_16_on_a_named_volume_with_a_health_check():
    compose = load_compose()
    db = compose["services"]["db"]
    assert db["image"].split(":")[1].startswith("16")
    assert db["image"].startswith("postgres:")
    assert "postgres_data:/var/lib/postgresql/data" in db["volumes"]
    assert "postgres_data" in compose["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_compose_publishes_only_nginx_beyond_loopback():
    for name, service in load_compose()["services"].items():
        if name == "nginx":
            continue
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert load_compose()["services"]["db"]["ports"], "the database is published for pg_dump on the host"
    assert load_compose()["services"]["nginx"]["ports"] == ["${HTTP_PORT:-80}:80", "${HTTPS_PORT:-443}:443"]


def test_compose_does_not_publish_redis():
    redis = load_compose()["services"]["redis"]
    assert "ports" not in redis
    assert redis["image"].startswith("redis:")


def test_compose_backend_runs_gunicorn_with_the_config_file_on_all_interfaces():
    command = load_compose()["services"]["backend"]["command"]
    assert command[0] == "gunicorn"
    assert command[command.index("-c") + 1] == "gunicorn.conf.py"
    assert command[command.index("--bind") + 1] == "0.0.0.0:8000"
    assert command[-1] == "missioncontrol.wsgi:application"


def test_compose_worker_runs_db_worker_and_leaves_migrations_to_the_backend():
    worker = load_compose()["services"]["worker"]
    assert worker["command"] == ["python", "manage.py", "db_worker"]
    assert worker["environment"]["DB_AUTO_MIGRATE"] == "false"
    assert worker["depends_on"]["backend"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", ["backend", "worker"])
def test_compose_app_services_use_postgres_redis_and_the_env_file(service):
    definition = load_compose()["services"][service]
    environment = definition["environment"]
    assert definition["env_file"] == ".env"
    assert re.fullmatch(r"postgres://\$\{POSTGRES_USER[^}]*\}:\$\{POSTGRES_PASSWORD[^}]*\}@db:5432/\$\{POSTGRES_DB[^}]*\}",
                        environment["DATABASE_URL"])
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert environment["RATE_LIMIT_BACKEND"] == "redis"
    assert definition["depends_on"]["db"]["condition"] == "service_healthy"
    assert definition["depends_on"]["redis"]["condition"] == "service_healthy"


# --- Dockerfile and entry point ------------------------------------------------------------


def test_dockerfile_final_stage_runs_as_a_non_root_user():
    stage = final_dockerfile_stage()
    users = [line.split(None, 1)[1].strip() for line in stage if line.upper().startswith("USER ")]
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_installs_the_lock_file_with_hashes_and_probes_healthz():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"pip install --require-hashes .*-r \S*requirements\.lock", text)
    assert re.search(r"^FROM python:3\.13-slim(-trixie)?\s*$", "\n".join(final_dockerfile_stage()), re.MULTILINE)
    assert "EXPOSE 8000" in final_dockerfile_stage()
    assert any(line.startswith("HEALTHCHECK") for line in final_dockerfile_stage())
    assert "/healthz" in text


def test_entrypoint_script_is_executable_and_hands_over_to_the_command():
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR
    assert ENTRYPOINT.read_text(encoding="utf-8").rstrip().endswith('exec "$@"')


def entrypoint_environment(tmp_path: Path, auto_migrate: str) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'entrypoint.sqlite3'}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LOCAL_AUTH_TOKEN": secrets.token_urlsafe(50),
        "DB_AUTO_MIGRATE": auto_migrate,
        "BACKUP_DIR": str(tmp_path / "backups"),
    }


def run_entrypoint(tmp_path: Path, auto_migrate: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ENTRYPOINT), *command], cwd=ROOT, capture_output=True, text=True,
                          env=entrypoint_environment(tmp_path, auto_migrate), timeout=300)


def has_applied_migrations(tmp_path: Path) -> bool:
    result = run_manage("migrate", "--check", environment=entrypoint_environment(tmp_path, "false"))
    return result.returncode == 0


def test_entrypoint_runs_other_commands_without_migrating(tmp_path):
    result = run_entrypoint(tmp_path, "true", "echo", "working")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "working"
    assert not has_applied_migrations(tmp_path)


def test_entrypoint_starts_gunicorn_without_migrating_when_auto_migrate_is_off(tmp_path):
    result = run_entrypoint(tmp_path, "false", "gunicorn", "--version")
    assert result.returncode == 0, result.stderr
    assert "gunicorn" in result.stdout
    assert not has_applied_migrations(tmp_path)


@pytest.mark.slow
def test_entrypoint_migrates_before_starting_gunicorn_when_auto_migrate_is_on(tmp_path):
    result = run_entrypoint(tmp_path, "true", "gunicorn", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("gunicorn")
    assert has_applied_migrations(tmp_path)


# --- production configuration ---------------------------------------------------------------


def test_check_deploy_passes_without_warnings_for_a_filled_in_env_example():
    environment = production_environment(with_placeholders_replaced(env_example_values()))
    assert environment["ENVIRONMENT"] == "production"
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", environment=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert "WARNING" not in result.stderr.upper()


def test_check_deploy_refuses_the_env_example_placeholders():
    environment = production_environment(env_example_values())
    result = run_manage("check", "--deploy", environment=environment)
    assert result.returncode != 0
    assert "ops.E010" in result.stderr  # SECRET_KEY
    assert "ops.E013" in result.stderr  # LOCAL_AUTH_TOKEN


# --- nginx example ----------------------------------------------------------------------------


NGINX_CONF = ROOT / "deploy" / "nginx" / "missioncontrol.conf"


def test_nginx_config_sets_the_headers_the_backend_relies_on():
    shipped = NGINX_CONF.read_text(encoding="utf-8")
    for directive in ("proxy_set_header X-Forwarded-For $remote_addr;", "proxy_set_header X-Forwarded-Proto $scheme;",
                      "proxy_set_header X-Request-ID $mc_request_id;", 'proxy_set_header Forwarded "";'):
        assert directive in shipped, directive
    assert "$proxy_add_x_forwarded_for" not in shipped.replace("($proxy_add_x_forwarded_for)", "")


def test_nginx_config_buffers_requests_and_times_out_slow_clients():
    shipped = NGINX_CONF.read_text(encoding="utf-8")
    for directive in ("proxy_request_buffering on;", "proxy_buffering on;", "client_header_timeout 10s;",
                      "client_body_timeout 10s;"):
        assert directive in shipped, directive


def test_nginx_config_limits_sign_in_and_ingest_posts():
    shipped = NGINX_CONF.read_text(encoding="utf-8")
    for location, zone in (("location = /login/", "mc_sign_in"), ("location = /admin/login/", "mc_sign_in"),
                           ("location ~ ^/api/v1/boards/[^/]+/webhooks/[^/]+$", "mc_ingest")):
        block = shipped.split(location + " {", 1)[1].split("}", 1)[0]
        assert f"limit_req zone={zone} " in block, location


def test_the_deployment_doc_uses_the_shipped_nginx_files():
    deployment = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    assert "deploy/nginx/missioncontrol.conf" in deployment
    assert "deploy/nginx/upstream-host.conf" in deployment


def test_nginx_body_limit_leaves_room_for_the_backend_to_answer_413_itself():
    # nginx answering first would send its own HTML page instead of the JSON envelope.
    deployment = NGINX_CONF.read_text(encoding="utf-8")
    match = re.search(r"client_max_body_size\s+(\d+)([kKmM]?);", deployment)
    assert match
    size = int(match[1]) * {"": 1, "k": 1024, "m": 1024 * 1024}[match[2].lower()]
    assert size > 1_048_576


# --- README ---------------------------------------------------------------------------------


def test_readme_keeps_the_two_commands_a_newcomer_needs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run     # install into .venv, migrate, start the web server and the worker" in readme
    assert "make test    # install into .venv, run the whole test suite" in readme
    assert "test-artifacts/screenshots/" in readme


def test_every_document_the_readme_and_docs_point_to_exists():
    texts = [(ROOT / "README.md").read_text(encoding="utf-8")]
    texts += [path.read_text(encoding="utf-8") for path in (ROOT / "docs").glob("*.md")]
    named = {name for text in texts for name in re.findall(r"docs/[\w-]+\.md", text)}
    assert "docs/operations.md" in named
    assert sorted(name for name in named if not (ROOT / name).is_file()) == []
