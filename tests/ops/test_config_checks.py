"""Every configuration check id, seen the way an operator sees it: ``manage.py check``
in a fresh process with the environment under test."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from ops import config as cfg
from tests.ops import servers

CLOSED_PORT = 18190


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
def test_manage_py_check_refuses_with_the_id_and_a_sentence_naming_the_variable(check_id, env, words):
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


def test_production_secrets_may_come_from_files(tmp_path):
    (tmp_path / "secret_key").write_text(strong() + "\n")
    (tmp_path / "token").write_text(strong() + "\n")
    env = {**without(PRODUCTION, "SECRET_KEY", "LOCAL_AUTH_TOKEN"),
           "SECRET_KEY_FILE": str(tmp_path / "secret_key"), "LOCAL_AUTH_TOKEN_FILE": str(tmp_path / "token")}
    result = manage("check", "--deploy", env=env)
    assert result.returncode == 0, result.stderr


def test_a_complete_clerk_configuration_passes(tmp_path):
    env = {**without(PRODUCTION, "LOCAL_AUTH_TOKEN"), "AUTH_MODE": "clerk", "CLERK_SECRET_KEY": "sk_live_" + strong(),
           "CLERK_JWKS_URL": "https://clerk.mc.internal.test/.well-known/jwks.json",
           "CLERK_ISSUER": "https://clerk.mc.internal.test"}
    result = manage("check", "--deploy", env=env)
    assert result.returncode == 0, result.stderr


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


@pytest.mark.parametrize("value", ["change-me-" + "x1y2z3" * 10, "a" * 60, "your-token-" + strong()])
def test_placeholder_tokens_are_recognised(value):
    assert cfg.looks_like_placeholder(value)


def test_a_random_token_is_not_a_placeholder():
    assert not cfg.looks_like_placeholder(strong())


@pytest.mark.parametrize("env", [
    {**PRODUCTION, "LOCAL_AUTH_TOKEN": "short-but-random-Q9"},
    {**PRODUCTION, "LOCAL_AUTH_TOKEN": "change-me-" + "x1y2z3" * 10},
], ids=["short", "placeholder"])
def test_production_refuses_a_short_or_placeholder_local_token(env):
    result = manage("check", env=env)
    assert result.returncode == 1
    assert "(ops.E013) LOCAL_AUTH_TOKEN must be a random value of at least 50 characters" in result.stderr


def test_production_refuses_a_wildcard_allowed_hosts():
    result = manage("check", env={**PRODUCTION, "ALLOWED_HOSTS": "*"})
    assert result.returncode == 1
    assert "(ops.E011)" in result.stderr
