"""The routes that skip the console's middleware: probes, the agent API and webhook ingest.

Messages, the authentication middleware's lazy user, the content security policy and
whitenoise serve people in a browser. On a probe, an agent call (authenticated by its
token, never by a cookie) or an ingest (open, any client) they do nothing useful, and on
``/healthz`` they were about 40% of the time Django spent. Each of those middlewares is listed in ``settings.MIDDLEWARE`` through a subclass
here that steps aside on these routes and behaves exactly as Django's on every other.
The middlewares that matter everywhere (request id, access log, error envelope, body
limit, client IP, CORS, security headers, the Host check of ``CommonMiddleware``,
X-Frame-Options) are left as they are, and so are sessions and CSRF: Django's
deployment checks find them by name, and on these routes they find no cookie and
csrf_exempt views, so they cost next to nothing.
"""

from __future__ import annotations

from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.http import HttpRequest, HttpResponseBase
from django.middleware import csp

from ops.body_limit import is_webhook_ingest
from ops.static_files import StaticFilesMiddleware as ConsoleStaticFilesMiddleware

LEAN_PREFIXES = ("/healthz", "/readyz", "/api/v1/agent/")
_ATTRIBUTE = "_lean_path"


def is_lean_path(request: HttpRequest) -> bool:
    """Whether the console's middleware has nothing to do for this request (computed once)."""
    lean = getattr(request, _ATTRIBUTE, None)
    if lean is None:
        lean = request.path.startswith(LEAN_PREFIXES) or is_webhook_ingest(request)
        setattr(request, _ATTRIBUTE, lean)
    return lean


class _StepsAsideOnLeanPaths:
    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if is_lean_path(request):
            return self.get_response(request)  # type: ignore[attr-defined]
        return super().__call__(request)  # type: ignore[misc]


class ContentSecurityPolicyMiddleware(_StepsAsideOnLeanPaths, csp.ContentSecurityPolicyMiddleware):
    pass


class StaticFilesMiddleware(_StepsAsideOnLeanPaths, ConsoleStaticFilesMiddleware):
    pass


class AuthenticationMiddleware(_StepsAsideOnLeanPaths, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_StepsAsideOnLeanPaths, messages_middleware.MessageMiddleware):
    pass
