"""Every configuration check id, with the sentence an operator reads.

Most cases run the settings module afresh in this process with the environment under test,
then the ``ops`` system checks on what it found: the same code ``manage.py check`` runs, in
milliseconds instead of a Django start per case. Two cases run the operator's real path,
``manage.py check`` in a fresh process: a refusal (non-zero exit, the sentence on stderr)
and a complete production environment passing ``--deploy``."""

from __future__ import annotations

import runpy
import secrets
import subprocess

import pytest
from django.core.checks import CheckMessage, Tags, run_checks
from django.core.checks.registry import registry
from django.test import override_settings

from ops import config as cfg
from tests.ops import servers

CLOSED_PORT = servers.port(18190)
SETTINGS_FILE = servers.REPO / "missioncontrol" / "settings.py"


def strong(length: int = 50) -> str:
    return secrets.token_urlsafe(length)


PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": strong(),
    "ALLOWED_HOSTS": "mc.internal.test",
    "BASE_URL": "https://mc.internal.test",
    "LOCAL_AUTH_TOKEN": strong(),
}


def without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {key: value for key, value in env.items() if key not in names}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([servers.PYTHON, "manage.py", *args], cwd=servers.REPO, capture_output=True, text=True,
                          timeout=120, env=servers.clean_env(env))


def settings_read_from(env: dict[str, str], monkeypatch) -> dict[str, object]:
    """The settings module run afresh with ``env`` as its configuration: the variables
    ``servers.clean_env`` keeps from a subprocess are gone here too."""
    for name in servers.CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def ops_checks() -> list:
    found = [check for check in registry.get_checks() if check.__module__ == "ops.checks"]
    assert found, "the ops system checks are not registered"
    return found


def check(env: dict[str, str], monkeypatch, *, deploy: bool = False) -> list[CheckMessage]:
    """What ``manage.py check`` (``--deploy``) would report for ``env``: the ops checks on the
    problems the settings recorded, and with ``deploy`` Django's security checks on the
    settings they read."""
    values = settings_read_from(env, monkeypatch)
    read = {name: values[name] for name in ("CONFIG_PROBLEMS", "RATE_LIMIT_BACKEND", "RATE_LIMIT_REDIS_URL")}
    if deploy:
        read.update({name: value for name, value in values.items()
                     if name in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "MIDDLEWARE", "X_FRAME_OPTIONS",
                                 "SILENCED_SYSTEM_CHECKS", "CSRF_TRUSTED_ORIGINS")
                     or name.startswith(("SECURE_", "SESSION_COOKIE_", "CSRF_COOKIE_"))})
    with override_settings(**read):
        messages = [message for ops_check in ops_checks() for message in ops_check(None)]
        if deploy:
            messages += run_checks(include_deployment_checks=True, tags=[Tags.security])
        # What manage.py prints: silenced checks left out.
        return [message for message in messages if not message.is_silenced()]


def lines_of(messages: list[CheckMessage], check_id: str) -> list[str]:
    """The lines ``manage.py check`` prints for ``check_id`` (str() is its format)."""
    lines = [line for message in messages for line in str(message).splitlines()]
    return [line for line in lines if f"({check_id})" in line]


def refused(messages: list[CheckMessage]) -> bool:
    """``manage.py check`` exits non-zero: an error (or worse) among what it prints."""
    return any(message.is_serious() for message in messages)


# id, environment, words the error must contain (the variable's name first)
CASES = [
    ("ops.E001", {"DEBUG": "Ture"}, ["DEBUG='Ture' is not a boolean"]),
    ("ops.E002", {"REQUEST_LOG_SLOW_MS": "fast"}, ["REQUEST_LOG_SLOW_MS='fast' is not a whole number"]),
    ("ops.E003", {"AUTH_MODE": "ldap"}, ["AUTH_MODE='ldap' is not one of local, clerk"]),
    ("ops.E004", {"BASE_URL": "ftp://mc.internal.test"}, ["BASE_URL='ftp://mc.internal.test' is not a URL"]),
    ("ops.E005", {"RATE_LIMIT_AGENT_AUTH": "20 per minute"}, ["RATE_LIMIT_AGENT_AUTH='20 per minute' is not a rate"]),
    ("ops.E006", {"TRUSTED_PROXIES": "10.0.0.0/8,10.0.0.0/33"}, ["TRUSTED_PROXIES contains '10.0.0.0/33'"]),
    ("ops.E007", {"SECRET_KEY_FILE": "/nonexistent/secret"}, ["SECRET_KEY_FILE points to '/nonexistent/secret'"]),
    ("ops.E008", {"GATEWAY_MIN_VERSION": "latest"}, ["GATEWAY_MIN_VERSION='latest' is not an OpenClaw version"]),
    ("ops.E010", without(PRODUCTION, "SECRET_KEY"), ["SECRET_KEY must be set"]),
    ("ops.E011", without(PRODUCTION, "ALLOWED_HOSTS"), ["ALLOWED_HOSTS must list the host names"]),
    ("ops.E012", without(PRODUCTION, "BASE_URL"), ["BASE_URL must be set"]),
    ("ops.E013", without(PRODUCTION, "LOCAL_AUTH_TOKEN"), ["LOCAL_AUTH_TOKEN must be a random value"]),
    ("ops.E014", {"AUTH_MODE": "clerk"}, ["CLERK_SECRET_KEY must be set", "CLERK_JWKS_URL must be set",
                                          "CLERK_ISSUER must be set"]),
    ("ops.E015", {**PRODUCTION, "DEBUG": "true"}, ["DEBUG=true is not allowed with ENVIRONMENT=production"]),
    ("ops.E020", {"RATE_LIMIT_BACKEND": "redis"}, ["RATE_LIMIT_BACKEND=redis needs RATE_LIMIT_REDIS_URL or REDIS_URL"]),
    ("ops.E021", {"RATE_LIMIT_BACKEND": "redis", "RATE_LIMIT_REDIS_URL": f"redis://127.0.0.1:{CLOSED_PORT}/0"},
     ["RATE_LIMIT_REDIS_URL", "cannot be reached"]),
]


def test_every_check_id_in_ops_config_has_a_case():
    ids = {value for name, value in vars(cfg).items() if name.startswith("E_") and isinstance(value, str)}
    assert ids == {case[0] for case in CASES}


@pytest.mark.parametrize(("check_id", "env", "words"), CASES, ids=[case[0] for case in CASES])
def test_the_checks_refuse_with_the_id_and_a_sentence_naming_the_variable(check_id, env, words, monkeypatch):
    messages = check(env, monkeypatch)
    assert refused(messages), messages
    lines = lines_of(messages, check_id)
    assert lines, messages
    for word in words:
        assert any(word in line for line in lines), (word, lines)


def test_manage_py_check_refuses_with_the_id_and_a_sentence_naming_the_variable():
    check_id, env, words = CASES[0]
    result = manage("check", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if f"({check_id})" in line]
    assert lines, result.stderr
    for word in words:
        assert any(word in line for line in lines), (word, lines)


def test_a_complete_production_environment_passes_check_deploy():
    result = manage("check", "--deploy", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_complete_production_environment_passes_the_checks_in_process_too(monkeypatch):
    # Guards the in-process reading: the environment manage.py accepts is accepted here.
    assert check(PRODUCTION, monkeypatch, deploy=True) == []


def test_production_secrets_may_come_from_files(tmp_path, monkeypatch):
    (tmp_path / "secret_key").write_text(strong() + "\n")
    (tmp_path / "token").write_text(strong() + "\n")
    env = {**without(PRODUCTION, "SECRET_KEY", "LOCAL_AUTH_TOKEN"),
           "SECRET_KEY_FILE": str(tmp_path / "secret_key"), "LOCAL_AUTH_TOKEN_FILE": str(tmp_path / "token")}
    messages = check(env, monkeypatch, deploy=True)
    assert not refused(messages), messages


def test_a_complete_clerk_configuration_passes(tmp_path, monkeypatch):
    env = {**without(PRODUCTION, "LOCAL_AUTH_TOKEN"), "AUTH_MODE": "clerk", "CLERK_SECRET_KEY": "sk_live_" + strong(),
           "CLERK_JWKS_URL": "https://clerk.mc.internal.test/.well-known/jwks.json",
           "CLERK_ISSUER": "https://clerk.mc.internal.test"}
    messages = check(env, monkeypatch, deploy=True)
    assert not refused(messages), messages


# --- the same rules, read in process (fast, for the variants) -----------------------------------

def reader(**values: str) -> cfg.EnvReader:
    return cfg.EnvReader(environ=values)


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "yes", "on"])
def test_strict_booleans_accept_the_true_words(word):
    env = reader(DEBUG=word)
    assert env.flag("DEBUG", False) is True
    assert env.problems == []


@pytest.mark.parametrize("word", ["0", "false", "no", "off", ""])
def test_strict_booleans_accept_the_false_words(word):
    env = reader(DEBUG=word)
    assert env.flag("DEBUG", True) is False
    assert env.problems == []


@pytest.mark.parametrize("word", ["Ture", "flase", "2", "y"])
def test_anything_else_is_not_a_boolean(word):
    env = reader(DEBUG=word)
    env.flag("DEBUG", False)
    assert [problem.id for problem in env.problems] == ["ops.E001"]


def test_a_number_below_its_minimum_is_an_error():
    env = reader(WEBHOOK_MAX_PAYLOAD_BYTES="0")
    assert env.whole("WEBHOOK_MAX_PAYLOAD_BYTES", 5, minimum=1) == 5
    assert env.problems[0].message == "WEBHOOK_MAX_PAYLOAD_BYTES=0 is below the minimum of 1."


def test_a_secret_set_twice_is_an_error(tmp_path):
    (tmp_path / "key").write_text("from-file")
    env = reader(SECRET_KEY="direct", SECRET_KEY_FILE=str(tmp_path / "key"))
    env.text("SECRET_KEY", "")
    assert env.problems[0].id == "ops.E007"
    assert "Both SECRET_KEY and SECRET_KEY_FILE are set" in env.problems[0].message


def test_a_secret_file_is_read_and_trimmed(tmp_path):
    (tmp_path / "key").write_text("  from-file\n")
    env = reader(SECRET_KEY_FILE=str(tmp_path / "key"))
    assert env.text("SECRET_KEY", "") == "from-file"
    assert env.is_set("SECRET_KEY")


@pytest.mark.parametrize("value", ["change-me-" + "x1y2z3" * 10, "a" * 60, "your-token-" + strong()],
                         ids=["change-me", "one-character", "your-token"])  # same ids in every xdist worker
def test_placeholder_tokens_are_recognised(value):
    assert cfg.looks_like_placeholder(value)


def test_a_random_token_is_not_a_placeholder():
    assert not cfg.looks_like_placeholder(strong())


@pytest.mark.parametrize("env", [
    {**PRODUCTION, "LOCAL_AUTH_TOKEN": "short-but-random-Q9"},
    {**PRODUCTION, "LOCAL_AUTH_TOKEN": "change-me-" + "x1y2z3" * 10},
], ids=["short", "placeholder"])
def test_production_refuses_a_short_or_placeholder_local_token(env, monkeypatch):
    messages = check(env, monkeypatch)
    assert refused(messages)
    assert any("(ops.E013) LOCAL_AUTH_TOKEN must be a random value of at least 50 characters" in line
               for line in lines_of(messages, "ops.E013"))


def test_production_refuses_a_wildcard_allowed_hosts(monkeypatch):
    messages = check({**PRODUCTION, "ALLOWED_HOSTS": "*"}, monkeypatch)
    assert refused(messages)
    assert lines_of(messages, "ops.E011")
