"""User authentication: the local operator token, Clerk session JWTs and console sessions.

The Clerk tests sign tokens with RSA keys made here and serve the JWKS from a local HTTP
server (tests/agents/clerk_keys.py and the fixtures in conftest.py); nothing leaves the machine.
"""

from __future__ import annotations

import time

import jwt
import pytest
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from agents import authentication
from agents.authentication import (
    ClerkJWTAuthentication,
    LocalTokenAuthentication,
    SessionAuthentication,
)
from agents.identity import LOCAL_OPERATOR_USERNAME
from agents.models import Membership, Organization, User
from tests.agents.clerk_keys import ISSUER, public_jwk, session_token

LOCAL_TOKEN = "local-operator-token-for-tests-" + "k" * 40


class WhoAmI(APIView):
    authentication_classes = [LocalTokenAuthentication, ClerkJWTAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"username": request.user.username})

    def post(self, request):
        return Response({"username": request.user.username})


urlpatterns = [path("api/v1/test/whoami", WhoAmI.as_view())]
URL = "/api/v1/test/whoami"
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__), pytest.mark.usefixtures("fresh_keys")]


def assert_unauthorized(response, detail: str | None = None):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert set(body) == {"detail", "request_id"} and body["request_id"]
    if detail is not None:
        assert body["detail"] == detail


# --- local mode ----------------------------------------------------------------------------


@pytest.fixture
def local_mode(settings):
    settings.AUTH_MODE = "local"
    settings.LOCAL_AUTH_TOKEN = LOCAL_TOKEN


def test_the_default_user_classes_are_the_local_token_then_the_session():
    from django.conf import settings

    classes = settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    assert classes == ["agents.authentication.LocalTokenAuthentication",
                       "agents.authentication.SessionAuthentication"]


def test_the_local_token_is_the_local_operator_who_owns_the_default_organization(local_mode):
    response = APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {LOCAL_TOKEN}")

    assert response.status_code == 200
    assert response.json() == {"username": LOCAL_OPERATOR_USERNAME}
    operator = User.objects.get(username=LOCAL_OPERATOR_USERNAME)
    membership = Membership.objects.get(user=operator)
    assert membership.role == "owner" and membership.organization.is_default
    assert not operator.has_usable_password()


def test_the_local_operator_is_created_once(local_mode):
    for _ in range(2):
        APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {LOCAL_TOKEN}")
    assert User.objects.filter(username=LOCAL_OPERATOR_USERNAME).count() == 1
    assert Organization.objects.filter(is_default=True).count() == 1


def test_the_local_operator_joins_an_existing_default_organization(local_mode, org):
    APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {LOCAL_TOKEN}")
    assert Membership.objects.get(user__username=LOCAL_OPERATOR_USERNAME).organization == org


def test_a_wrong_local_token_is_401_with_the_envelope(local_mode):
    assert_unauthorized(APIClient().get(URL, HTTP_AUTHORIZATION="Bearer " + "x" * 70), "Invalid token.")


def test_an_empty_bearer_is_401(local_mode):
    assert_unauthorized(APIClient().get(URL, HTTP_AUTHORIZATION="Bearer "))


def test_no_credentials_is_401_with_the_envelope(local_mode):
    assert_unauthorized(APIClient().get(URL))


def test_a_console_session_is_accepted(local_mode, member):
    client = APIClient()
    client.force_login(member)
    response = client.get(URL)
    assert response.status_code == 200 and response.json() == {"username": "member"}


def test_a_session_write_without_csrf_token_is_refused(local_mode, member):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(member)
    response = client.post(URL, {}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_the_local_token_is_ignored_in_clerk_mode(settings, clerk):
    settings.LOCAL_AUTH_TOKEN = LOCAL_TOKEN
    assert_unauthorized(APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {LOCAL_TOKEN}"))


# --- clerk mode ----------------------------------------------------------------------------


def call(token: str):
    return APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_valid_clerk_token_is_the_user_of_its_sub(clerk, keys):
    response = call(session_token(keys["current"], email="ada@example.com"))

    assert response.status_code == 200
    user = User.objects.get(clerk_user_id="user_2abc")
    assert response.json() == {"username": user.username}
    assert user.email == "ada@example.com"


def test_a_new_clerk_user_joins_no_organization(clerk, keys, org):
    assert call(session_token(keys["current"])).status_code == 200

    user = User.objects.get(clerk_user_id="user_2abc")
    assert not Membership.objects.filter(user=user).exists()


def test_the_same_sub_is_the_same_user_every_time(clerk, keys):
    call(session_token(keys["current"]))
    call(session_token(keys["current"]))
    assert User.objects.filter(clerk_user_id="user_2abc").count() == 1


def test_an_expired_clerk_token_is_401(clerk, keys):
    expired = session_token(keys["current"], exp=int(time.time()) - 60)
    assert_unauthorized(call(expired), "Session token has expired.")


def test_a_token_expired_within_the_leeway_is_accepted(clerk, keys):
    just_expired = session_token(keys["current"], exp=int(time.time()) - 3)
    assert call(just_expired).status_code == 200


def test_a_clerk_token_from_another_issuer_is_401(clerk, keys):
    assert_unauthorized(call(session_token(keys["current"], iss="https://evil.test")),
                        "Session token has the wrong issuer.")


def test_a_clerk_token_signed_with_another_key_is_401(clerk, keys):
    forged = session_token(keys["stranger"], kid="kid-current")
    assert_unauthorized(call(forged), "Invalid session token.")


def test_a_token_without_sub_is_401(clerk, keys):
    now = int(time.time())
    token = jwt.encode({"iss": ISSUER, "exp": now + 60}, keys["current"], algorithm="RS256",
                       headers={"kid": "kid-current"})
    assert_unauthorized(call(token), "Invalid session token.")


@pytest.mark.parametrize("sub", ["", "   ", 42])
def test_a_token_whose_sub_names_no_one_is_401(clerk, keys, sub):
    assert_unauthorized(call(session_token(keys["current"], sub=sub)), "Invalid session token.")
    assert not User.objects.filter(username__startswith="clerk-").exists()


def test_a_token_with_another_algorithm_is_401(clerk):
    token = jwt.encode({"sub": "user_2abc", "iss": ISSUER, "exp": int(time.time()) + 60}, "s" * 32,
                       algorithm="HS256", headers={"kid": "kid-current"})
    assert_unauthorized(call(token))


def test_garbage_is_401(clerk):
    assert_unauthorized(call("not-a-jwt"), "Invalid session token.")


def test_the_jwks_is_fetched_once_and_cached(clerk, keys):
    for _ in range(3):
        assert call(session_token(keys["current"])).status_code == 200
    assert clerk.fetches == 1


def test_the_shared_cache_serves_a_fresh_process(clerk, keys):
    call(session_token(keys["current"]))
    authentication.jwks_cache.clear()  # as if another gunicorn worker
    assert call(session_token(keys["current"])).status_code == 200
    assert clerk.fetches == 1


def test_a_key_rotation_is_picked_up_by_refetching_on_an_unknown_kid(clerk, keys):
    assert call(session_token(keys["current"])).status_code == 200
    clerk.keys = [public_jwk(keys["current"], "kid-current"), public_jwk(keys["next"], "kid-next")]

    response = call(session_token(keys["next"], kid="kid-next"))

    assert response.status_code == 200
    assert clerk.fetches == 2


def test_unknown_kids_do_not_refetch_more_than_once_per_interval(clerk, keys):
    call(session_token(keys["current"]))
    for _ in range(3):
        assert_unauthorized(call(session_token(keys["stranger"], kid="kid-made-up")),
                            "Session token signed by an unknown key.")
    assert clerk.fetches == 2


def test_an_unreachable_jwks_is_503_not_a_crash(settings, clerk, keys):
    settings.CLERK_JWKS_URL = "http://127.0.0.1:9/jwks.json"
    response = call(session_token(keys["current"]))
    assert response.status_code == 503
    assert response.json()["detail"]


def test_a_deactivated_clerk_user_is_401(clerk, keys):
    User.objects.create(username="ada", clerk_user_id="user_2abc", is_active=False)
    assert_unauthorized(call(session_token(keys["current"])), "This user is deactivated.")


def test_a_clerk_user_whose_plain_name_is_taken_gets_another(clerk, keys):
    User.objects.create(username="clerk-user_2abc")
    assert call(session_token(keys["current"])).status_code == 200
    user = User.objects.get(clerk_user_id="user_2abc")
    assert user.username.startswith("clerk-user_2abc-")
