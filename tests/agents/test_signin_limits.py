"""Sign-in limits beyond the console form: Django's admin login shares the per-IP limit,
and password attempts for one account slow down whatever address they come from."""

from __future__ import annotations

import random

import pytest
from django.core.cache import caches

from ops import signin_backoff
from tests.conftest import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

ADMIN_LOGIN = "/admin/login/"
LOGIN = "/login/"


@pytest.fixture
def staff(org):
    user = make_user("staffer", org, "admin")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def admin_post(client, password: str, address: str = "10.0.0.1", username: str = "staffer"):
    return client.post(ADMIN_LOGIN, {"username": username, "password": password, "next": "/admin/"},
                       REMOTE_ADDR=address)


def test_admin_login_is_rate_limited_per_client_ip_like_the_console(client, settings, staff):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "console_login": (3, 60)}
    for number in range(3):
        # Different accounts, so only the address limit is in play.
        assert admin_post(client, "wrong", username=f"nobody{number}").status_code == 200
    response = admin_post(client, "pw-staffer")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["detail"]["code"] == "sign_in_rate_limited"
    assert "_auth_user_id" not in client.session
    assert admin_post(client, "pw-staffer", address="10.0.0.2").status_code == 302


def test_the_console_and_the_admin_share_one_per_ip_budget(client, settings, staff):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "console_login": (2, 60)}
    client.post(LOGIN, {"method": "token", "token": "wrong"}, REMOTE_ADDR="10.0.0.9")
    admin_post(client, "wrong", address="10.0.0.9", username="someone")
    assert admin_post(client, "pw-staffer", address="10.0.0.9").status_code == 429


def test_password_guesses_for_one_account_from_many_addresses_are_slowed(client, staff, settings, throttle_clock):
    settings.SIGN_IN_BACKOFF_FREE_ATTEMPTS = 3
    for number in range(3):
        assert admin_post(client, "wrong", address=f"10.1.0.{number}").status_code == 200
    # The fourth attempt is allowed and fails; the fifth, from a fresh address, must wait.
    assert admin_post(client, "wrong", address="10.1.0.3").status_code == 200
    response = admin_post(client, "pw-staffer", address="10.1.0.4")
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert "_auth_user_id" not in client.session
    throttle_clock.now += 1
    assert admin_post(client, "pw-staffer", address="10.1.0.5").status_code == 302


def test_the_wait_grows_with_each_failure_up_to_a_short_maximum(client, staff, settings, throttle_clock):
    settings.SIGN_IN_BACKOFF_FREE_ATTEMPTS = 1
    settings.SIGN_IN_BACKOFF_MAX_SECONDS = 8
    waits = []
    for number in range(40):
        response = admin_post(client, "wrong", address=f"10.2.0.{number}")
        if response.status_code == 429:
            waits.append(int(response["Retry-After"]))
            throttle_clock.now += waits[-1]
        if len(waits) == 6:
            break
    assert waits == [1, 2, 4, 8, 8, 8]


def test_a_successful_sign_in_clears_the_accounts_failures(client, staff, settings, throttle_clock):
    settings.SIGN_IN_BACKOFF_FREE_ATTEMPTS = 2
    for _ in range(2):
        admin_post(client, "wrong")
    assert admin_post(client, "pw-staffer").status_code == 302
    client.logout()
    for _ in range(2):
        assert admin_post(client, "wrong").status_code == 200


def test_the_console_password_form_has_the_same_per_account_delay(client, member, settings):
    settings.SIGN_IN_BACKOFF_FREE_ATTEMPTS = 2
    for number in range(3):
        response = client.post(LOGIN, {"method": "password", "username": "member", "password": "nope"},
                               REMOTE_ADDR=f"10.4.0.{number}")
        assert response.status_code == 401
    response = client.post(LOGIN, {"method": "password", "username": "MEMBER", "password": "pw-member"},
                           REMOTE_ADDR="10.4.0.9")
    assert response.status_code == 429
    assert b"Too many recent sign-in attempts for this account" in response.content
    assert "_auth_user_id" not in client.session


def test_the_token_form_is_not_slowed_by_the_account_delay(client, member, settings, org):
    settings.SIGN_IN_BACKOFF_FREE_ATTEMPTS = 1
    for number in range(3):
        client.post(LOGIN, {"method": "password", "username": "member", "password": "nope"},
                    REMOTE_ADDR=f"10.5.0.{number}")
    response = client.post(LOGIN, {"method": "token", "token": settings.LOCAL_AUTH_TOKEN}, REMOTE_ADDR="10.5.0.9")
    assert response.status_code == 302


def test_the_account_delay_is_shared_through_redis(settings, redis_url, throttle_clock):
    settings.CACHES = {**settings.CACHES, "ratelimit": {
        "BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url,
        "KEY_PREFIX": f"mc-rl-test-{random.random()}", "OPTIONS": {"SOCKET_TIMEOUT": 0.5}}}
    settings.SIGN_IN_BACKOFF_FREE_ATTEMPTS = 2
    try:
        assert [signin_backoff.claim("ada").allowed for _ in range(4)] == [True, True, True, False]
        throttle_clock.now += 0.5
        assert signin_backoff.claim("Ada").retry_after == 1
        throttle_clock.now += 0.5
        assert signin_backoff.claim("ada").allowed is True
        signin_backoff.succeeded("ada")
        assert signin_backoff.claim("ada").allowed is True
    finally:
        caches["ratelimit"].clear()
