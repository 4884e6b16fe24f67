from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from agents import access, metrics
from agents.http import PersonRequest
from agents.models import Task
from missioncontrol.api.query import query_uuid
from missioncontrol.api.schema import error_responses
from missioncontrol.api.views import PersonView


class DeliveryFiguresSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Failed (retrying) and dead deliveries.")
    failed_share = serializers.FloatField(allow_null=True, help_text="failed / total; null without deliveries.")


class DayDeliveriesSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Deliveries created that day.")
    delivered = serializers.IntegerField(help_text="Of those, delivered.")
    failed = serializers.IntegerField(help_text="Of those, failed (retrying) or dead.")


class TrendDaySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="A UTC day; the last one is today, so far.")
    tasks_opened = serializers.IntegerField(help_text="Tasks created that day (task.created events).")
    tasks_closed = serializers.IntegerField(help_text="Distinct tasks that entered done that day.")
    median_cycle_time_seconds = serializers.FloatField(
        allow_null=True, help_text="Median time from entering in_progress to done, of the tasks finished that day; "
                                   "null when none that had been in progress finished.")
    cycle_time_samples = serializers.IntegerField()
    approvals_opened = serializers.IntegerField(help_text="Approvals requested that day.")
    approvals_waiting = serializers.IntegerField(
        help_text="Approvals waiting for a decision at the end of the day (today: now).")
    agents_active = serializers.IntegerField(
        help_text="Distinct agents the activity record shows acting that day (heartbeats included).")
    webhook_deliveries = DayDeliveriesSerializer(allow_null=True)


class DashboardSerializer(serializers.Serializer):
    range_key = serializers.ChoiceField(choices=list(metrics.RANGES))
    range_start = serializers.DateTimeField()
    range_end = serializers.DateTimeField()
    board_id = serializers.UUIDField(allow_null=True)
    tasks_by_status = serializers.DictField(child=serializers.IntegerField(),
                                            help_text=f"Keys: {', '.join(Task.Status.values)}.")
    tasks_total = serializers.IntegerField()
    tasks_done_in_range = serializers.IntegerField()
    median_cycle_time_seconds = serializers.FloatField(
        allow_null=True, help_text="From entering in_progress to done, for tasks finished in the range.")
    cycle_time_samples = serializers.IntegerField()
    agents_online = serializers.IntegerField()
    agents_total = serializers.IntegerField()
    pending_approvals = serializers.IntegerField()
    webhook_deliveries = DeliveryFiguresSerializer(allow_null=True, help_text="Deliveries created in the range.")
    trends = TrendDaySerializer(many=True, help_text="One row per UTC day, oldest first: the last 2 days for 24h, "
                                                      "otherwise as many days as the range, today the last.")


class DashboardView(PersonView):
    @extend_schema(operation_id="metrics_dashboard", tags=["metrics"], summary="Dashboard figures",
                   parameters=[
                       OpenApiParameter("range_key", OpenApiTypes.STR, enum=list(metrics.RANGES),
                                        default=metrics.DEFAULT_RANGE),
                       OpenApiParameter("board_id", OpenApiTypes.UUID, description="Only this board."),
                   ],
                   description="Counts the boards you can see (a member limited to some boards: those alone), "
                               "their agents and their activity.",
                   responses={200: DashboardSerializer, **error_responses(401, 403, 404, 422)})
    def get(self, request: PersonRequest) -> Response:
        range_key = request.query_params.get("range_key") or metrics.DEFAULT_RANGE
        if range_key not in metrics.RANGES:
            raise ValidationError({"range_key": [f"range_key must be one of: {', '.join(metrics.RANGES)}."]})
        board_id = query_uuid(request, "board_id")
        if board_id is not None:
            access.get_board_for(request.user, board_id)
        figures = metrics.dashboard(metrics.Scope.of_person(request.user), board_id=board_id, range_key=range_key)
        return Response(DashboardSerializer(figures.as_dict()).data)
