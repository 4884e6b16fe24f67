"""Signing in to the console: token, password, Clerk session cookie, rate limit, sign-out."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.exceptions import AuthenticationFailed

from agents.identity import LOCAL_OPERATOR_USERNAME
from agents.models import User
from tests.conftest import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

LOGIN = "/login/"


# Sign-in counters start empty in every test (fresh_rate_limits, tests/conftest.py).


def test_the_sign_in_page_lives_at_the_login_url(client):
    assert settings.LOGIN_URL == LOGIN == reverse("console:login")
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert b"Access token" in response.content and b"csrfmiddlewaretoken" in response.content


def test_the_local_token_signs_in_the_local_operator(client, org):
    response = client.post(LOGIN, {"method": "token", "token": settings.LOCAL_AUTH_TOKEN})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert User.objects.get(pk=client.session["_auth_user_id"]).username == LOCAL_OPERATOR_USERNAME


def test_a_wrong_token_is_refused_with_a_sentence(client):
    response = client.post(LOGIN, {"method": "token", "token": settings.LOCAL_AUTH_TOKEN + "x"})
    assert response.status_code == 401
    assert b"That token is not right." in response.content
    assert "_auth_user_id" not in client.session


def test_a_username_and_password_sign_in(client, member):
    response = client.post(LOGIN, {"method": "password", "username": "member", "password": "pw-member"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)


def test_a_wrong_password_is_refused(client, member):
    response = client.post(LOGIN, {"method": "password", "username": "member", "password": "nope"})
    assert response.status_code == 401
    assert b"That username and password do not match." in response.content


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client, member):
    response = client.post(LOGIN, {"method": "password", "username": "member", "password": "pw-member",
                                   "next": "/approvals/"})
    assert response["Location"] == "/approvals/"
    client.logout()
    response = client.post(LOGIN, {"method": "password", "username": "member", "password": "pw-member",
                                   "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_sign_in_attempts_are_rate_limited_per_client_ip(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "console_login": (3, 60)}
    for _ in range(3):
        assert client.post(LOGIN, {"method": "token", "token": "wrong"}).status_code == 401
    response = client.post(LOGIN, {"method": "token", "token": settings.LOCAL_AUTH_TOKEN})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert b"Too many sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    other = client.post(LOGIN, {"method": "token", "token": settings.LOCAL_AUTH_TOKEN}, REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 302


def test_the_login_form_needs_a_csrf_token(org):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(LOGIN, {"method": "token", "token": settings.LOCAL_AUTH_TOKEN})
    assert response.status_code == 403


def test_sign_out_is_a_post_and_ends_the_session(client, member):
    client.force_login(member)
    assert client.get(reverse("console:logout")).status_code == 405
    response = client.post(reverse("console:logout"))
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert client.get("/").status_code == 302


def test_in_clerk_mode_the_token_form_is_refused(client, settings):
    settings.AUTH_MODE = "clerk"
    response = client.post(LOGIN, {"method": "token", "token": settings.LOCAL_AUTH_TOKEN})
    assert response.status_code == 400
    assert b"Sign in with Clerk" in response.content


def test_in_clerk_mode_a_valid_session_cookie_signs_the_person_in(client, settings, monkeypatch, org):
    from agents.authentication import ClerkJWTAuthentication

    settings.AUTH_MODE = "clerk"
    monkeypatch.setattr(ClerkJWTAuthentication, "verify",
                        lambda self, token: {"sub": "user_123", "email": "ada@example.com"} if token == "good"
                        else (_ for _ in ()).throw(AuthenticationFailed("Invalid session token.")))
    client.cookies["__session"] = "good"
    response = client.get(LOGIN + "?next=/boards/")
    assert response.status_code == 302 and response["Location"] == "/boards/"
    assert User.objects.get(pk=client.session["_auth_user_id"]).clerk_user_id == "user_123"


def test_in_clerk_mode_an_invalid_session_cookie_is_refused(client, settings, monkeypatch):
    from agents.authentication import ClerkJWTAuthentication

    def refuse(self, token):
        raise AuthenticationFailed("Invalid session token.")

    settings.AUTH_MODE = "clerk"
    monkeypatch.setattr(ClerkJWTAuthentication, "verify", refuse)
    client.cookies["__session"] = "forged"
    response = client.get(LOGIN)
    assert response.status_code == 401
    assert b"could not be verified" in response.content
    assert "_auth_user_id" not in client.session


def test_a_deactivated_user_cannot_sign_in_with_a_password(client, org):
    make_user("gone", org, "member", is_active=False)
    response = client.post(LOGIN, {"method": "password", "username": "gone", "password": "pw-gone"})
    assert response.status_code == 401


def test_a_refused_sign_in_is_logged_with_the_client_address(client, caplog):
    with caplog.at_level("WARNING", logger="agents.console"):
        client.post(LOGIN, {"method": "token", "token": "guess"}, REMOTE_ADDR="10.1.2.3")
    record = next(r for r in caplog.records if r.name == "agents.console")
    assert record.getMessage() == "Console sign-in refused: wrong token"
    assert record.client_ip == "10.1.2.3"
    assert "guess" not in record.getMessage()


# --- a sign-in always starts a new session ----------------------------------------------------


def session_exists(key: str) -> bool:
    from django.contrib.sessions.backends.db import SessionStore

    return SessionStore().exists(key)


def test_signing_in_with_someone_elses_session_starts_a_new_one(client, member, org):
    client.force_login(member)  # the session someone left (or planted) in this browser
    planted = client.session.session_key

    response = client.post(LOGIN, {"method": "token", "token": settings.LOCAL_AUTH_TOKEN})

    assert response.status_code == 302
    assert response.cookies["sessionid"].value not in ("", planted)
    assert not session_exists(planted)
    assert User.objects.get(pk=client.session["_auth_user_id"]).username == LOCAL_OPERATOR_USERNAME


def test_signing_in_again_as_the_same_person_rotates_the_session(client, member):
    client.force_login(member)
    before = client.session.session_key

    response = client.post(LOGIN, {"method": "password", "username": "member", "password": "pw-member"})

    assert response.status_code == 302
    assert response.cookies["sessionid"].value not in ("", before)
    assert not session_exists(before)
    assert client.session["_auth_user_id"] == str(member.pk)


def test_a_first_sign_in_does_not_keep_the_session_key_it_arrived_with(client, member):
    session = client.session
    session["visited"] = True
    session.save()
    anonymous = session.session_key

    client.post(LOGIN, {"method": "password", "username": "member", "password": "pw-member"})

    assert client.session.session_key != anonymous and not session_exists(anonymous)
    assert "visited" not in client.session


def test_in_clerk_mode_the_cookie_user_replaces_a_session_of_someone_else(client, settings, monkeypatch, member,
                                                                          org):
    from agents.authentication import ClerkJWTAuthentication

    settings.AUTH_MODE = "clerk"
    monkeypatch.setattr(ClerkJWTAuthentication, "verify", lambda self, token: {"sub": "user_ada"})
    client.force_login(member)
    planted = client.session.session_key
    client.cookies["__session"] = "good"

    response = client.get(LOGIN)

    assert response.status_code == 302 and not session_exists(planted)
    assert User.objects.get(pk=client.session["_auth_user_id"]).clerk_user_id == "user_ada"


def test_an_open_session_visiting_the_sign_in_page_is_only_sent_on(client, member):
    client.force_login(member)
    key = client.session.session_key

    response = client.get(LOGIN)

    assert response.status_code == 302 and client.session.session_key == key
