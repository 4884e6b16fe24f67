from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from agents.http import PersonRequest
from agents.serializers import UserSerializer
from missioncontrol.api.schema import error_responses
from missioncontrol.api.views import PersonView


class CurrentUserView(PersonView):
    @extend_schema(operation_id="users_me", tags=["users"], summary="The calling person and their organizations",
                   responses={200: UserSerializer, **error_responses(401, 403)})
    def get(self, request: PersonRequest) -> Response:
        return Response(UserSerializer(request.user).data)
