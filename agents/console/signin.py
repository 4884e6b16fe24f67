"""Signing in to and out of the console.

Local mode accepts the installation's token (the local operator signs in) or a Django
username and password; clerk mode accepts the Clerk session cookie, verified exactly as
the user API verifies a Clerk bearer token. Every attempt counts against the
``console_login`` rate limit of the client's IP, successful or not, so the token cannot
be guessed faster than the limit allows. Password attempts also pass the account's
sign-in backoff (``ops.signin_backoff``), which many addresses cannot get around. Django's
admin login at ``/admin/login/`` goes through the same two limits.

A sign-in always starts a new session: the session the browser brought (someone else's,
planted to watch what the person does next, or an older one of their own) is flushed and
a new key issued, even when it was signed in already.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import APIException

from agents.console.forms import PasswordSignInForm, TokenSignInForm
from agents.identity import clerk_user, local_operator
from agents.models import User
from ops import signin_backoff, throttle
from ops.client_ip import client_ip
from ops.errors import error_response

logger = logging.getLogger("agents.console")

CLERK_SESSION_COOKIE = "__session"
LOGIN_SCOPE = "console_login"


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _clerk_user_from_cookie(request: HttpRequest) -> User | None:
    """The user behind a valid Clerk session cookie (verified like a Clerk bearer token), or None."""
    token = request.COOKIES.get(CLERK_SESSION_COOKIE, "")
    if not token:
        return None
    from agents.authentication import ClerkJWTAuthentication

    try:
        claims = ClerkJWTAuthentication().verify(token)
    except APIException as exc:
        logger.info("Clerk session cookie refused: %s", exc.detail)
        return None
    user = clerk_user(str(claims["sub"]), claims)
    return user if user.is_active else None


def _start_session(request: HttpRequest, user: User, backend: str | None = None) -> None:
    """Sign ``user`` in on a new session; whatever session came with the request ends here."""
    request.session.flush()
    login(request, user, backend=backend)


def _render(request: HttpRequest, token_form: TokenSignInForm, password_form: PasswordSignInForm,
            error: str = "", status: int = 200, show_password: bool = False) -> HttpResponse:
    return render(request, "registration/login.html", {
        "token_form": token_form,
        "password_form": password_form,
        "error": error,
        "next": _next_url(request),
        "auth_mode": settings.AUTH_MODE,
        "show_password": show_password,
    }, status=status)


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    clerk_cookie = settings.AUTH_MODE == "clerk" and bool(request.COOKIES.get(CLERK_SESSION_COOKIE))
    if request.user.is_authenticated and request.method != "POST" and not clerk_cookie:
        # Only showing the page: nobody signs in, so the session stays.
        return redirect(_next_url(request))
    token_form, password_form = TokenSignInForm(), PasswordSignInForm()

    if request.method != "POST":
        if clerk_cookie:
            if not throttle.hit(LOGIN_SCOPE, client_ip(request)).allowed:
                return _render(request, token_form, password_form, "Too many sign-in attempts.", status=429)
            user = _clerk_user_from_cookie(request)
            if user is not None:
                _start_session(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect(_next_url(request))
            return _render(request, token_form, password_form,
                           "Your Clerk session could not be verified. Sign in with Clerk again.", status=401)
        return _render(request, token_form, password_form)

    limit = throttle.hit(LOGIN_SCOPE, client_ip(request))
    method = request.POST.get("method", "token")
    if method == "password":
        password_form = PasswordSignInForm(request.POST)
    else:
        token_form = TokenSignInForm(request.POST)
    if not limit.allowed:
        logger.warning("Console sign-in rate limited", extra={"client_ip": client_ip(request)})
        response = _render(request, token_form, password_form,
                           f"Too many sign-in attempts from your address. Try again in {limit.retry_after} seconds.",
                           status=429, show_password=method == "password")
        response["Retry-After"] = str(limit.retry_after)
        return response

    if method == "password":
        username = request.POST.get("username", "")
        attempt = signin_backoff.claim(username)
        if not attempt.allowed:
            logger.warning("Console sign-in delayed: recent failures for this account", extra={
                "client_ip": client_ip(request), "username": username[:150]})
            response = _render(request, token_form, password_form,
                               "Too many recent sign-in attempts for this account. "
                               f"Try again in {attempt.retry_after} seconds.", status=429, show_password=True)
            response["Retry-After"] = str(attempt.retry_after)
            return response
        if password_form.is_valid():
            user = authenticate(request, username=password_form.cleaned_data["username"],
                                password=password_form.cleaned_data["password"])
            if user is not None:
                signin_backoff.succeeded(username)
                _start_session(request, user)
                return HttpResponseRedirect(_next_url(request))
        logger.warning("Console sign-in refused: wrong username or password", extra={
            "client_ip": client_ip(request), "username": request.POST.get("username", "")[:150]})
        return _render(request, token_form, password_form, "That username and password do not match.",
                       status=401, show_password=True)

    if settings.AUTH_MODE != "local":
        return _render(request, token_form, password_form,
                       "Token sign-in is only available when AUTH_MODE=local. Sign in with Clerk.", status=400)
    if token_form.is_valid():
        presented = token_form.cleaned_data["token"].encode()
        expected = settings.LOCAL_AUTH_TOKEN.encode()
        if expected and hmac.compare_digest(presented, expected):
            _start_session(request, local_operator(), backend="django.contrib.auth.backends.ModelBackend")
            return HttpResponseRedirect(_next_url(request))
    logger.warning("Console sign-in refused: wrong token", extra={"client_ip": client_ip(request)})
    return _render(request, TokenSignInForm(), password_form, "That token is not right.", status=401)


def _sign_in_refused(message: str, retry_after: int) -> HttpResponse:
    return error_response(429, {"code": "sign_in_rate_limited", "message": message},
                          headers={"Retry-After": str(retry_after)})


@never_cache
@csrf_protect
def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """Django's admin login behind the console's limits: the client IP's ``console_login``
    and the account's backoff, both checked before the password is hashed."""
    from django.contrib import admin

    if request.method == "POST" and not request.user.is_authenticated:
        limit = throttle.hit(LOGIN_SCOPE, client_ip(request))
        if not limit.allowed:
            logger.warning("Admin sign-in rate limited", extra={"client_ip": client_ip(request)})
            return _sign_in_refused(f"Too many sign-in attempts from your address. Try again in "
                                    f"{limit.retry_after} seconds.", limit.retry_after)
        username = request.POST.get("username", "")
        attempt = signin_backoff.claim(username)
        if not attempt.allowed:
            logger.warning("Admin sign-in delayed: recent failures for this account", extra={
                "client_ip": client_ip(request), "username": username[:150]})
            return _sign_in_refused(f"Too many recent sign-in attempts for this account. Try again in "
                                    f"{attempt.retry_after} seconds.", attempt.retry_after)
        response = admin.site.login(request)
        if request.user.is_authenticated:
            signin_backoff.succeeded(username)
        return response
    return admin.site.login(request)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    response = redirect(settings.LOGIN_URL)
    # A Clerk cookie would sign the person straight back in.
    response.delete_cookie(CLERK_SESSION_COOKIE)
    return response
