"""OpenAPI pieces every API view shares: the error envelope and its documented responses.

Views declare which refusals they can answer with ``error_responses(401, 403, 404, ...)``;
each one points at the single ``ErrorEnvelope`` component, so clients learn the shape
of an error once. 400 is always among them: any request can be unreadable (a NUL
character in its path or query, a body that is not JSON), whatever the operation.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field, inline_serializer
from rest_framework import serializers


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": True},
                                {"type": "array", "items": {}}]})
class ErrorDetailField(serializers.JSONField):
    """A sentence, an object of field errors or of a rule's ``code`` and sentence, or a list."""


class ErrorEnvelopeSerializer(serializers.Serializer):
    detail = ErrorDetailField()
    request_id = serializers.CharField()

    class Meta:
        ref_name = "ErrorEnvelope"


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request could not be read: a body that is not JSON, or a NUL character in the path or query.",
    401: "Missing or wrong credentials.",
    403: "Authenticated, but not allowed to do this.",
    404: "Not found, or not visible to the caller.",
    409: "Conflicts with the current state; `detail.code` names the rule.",
    410: "Gone.",
    413: "Request body is too large.",
    422: "Invalid input: `detail` holds the field errors or the rule's `code` and sentence.",
    429: "Too many requests; retry after `Retry-After` seconds.",
    502: "The agent's gateway could not do its part; `detail.message` says why. Try again later.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Documented error answers, all in the envelope; 400 included, since every operation can answer it."""
    return {code: OpenApiResponse(response=ErrorEnvelopeSerializer, description=ERROR_DESCRIPTIONS[code])
            for code in sorted({400, *codes})}


# One component for every ``{"ok": true}`` answer, whatever its description.
_OK = inline_serializer("OkResponse", fields={"ok": serializers.BooleanField()})


def ok_response(description: str = "Done.") -> OpenApiResponse:
    return OpenApiResponse(response=_OK, description=description)


class StrictSerializerScheme(OpenApiSerializerExtension):
    """A ``StrictSerializer`` refuses keys it does not know: its request body says so. One
    whose PATCH takes the whole body (``whole_on_patch``) keeps its required fields, which
    drf-spectacular would drop for a PATCH."""

    target_class = "missioncontrol.api.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        if getattr(self.target, "whole_on_patch", False):
            self.target.partial = False  # drf-spectacular hands over its own copy
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        if not vars(type(self.target)).get("__doc__"):
            schema.pop("description", None)  # not this class's own words, but StrictSerializer's
        return schema


NO_CONTENT: dict[int, Any] = {204: OpenApiResponse(response=None, description="Deleted.")}
UUID_PATH = OpenApiTypes.UUID
