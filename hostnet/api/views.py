"""API: /api/hostnet/<host>/ (interface tree); per action, POST /api/hostnet/<host>/<action>/
(validate, then 202 + the Operation) and POST /api/hostnet/<host>/<action>/plan/ (the plan
only, nothing enqueued). Each action has its own body serializer (hostnet.api.serializers)."""

from django.db import transaction
from drf_spectacular.utils import extend_schema

from kvmweb.api_schema import conflict
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .. import plans, services, tree, versions
from ..access import require_change_host_network, visible_host_networks
from .serializers import (ACTION_SERIALIZERS, ChangeStartedSerializer, HostTreeSerializer,
                          PlanSerializer)


CHANGED = conflict(
    "Host interfaces changed since the change was planned against `version`, or another host "
    "network change is pending (the body has the current `version`, the `seen_version` and the "
    "`diff` since: plan again)", diff=serializers.CharField(required=False),
    version=serializers.CharField(required=False), seen_version=serializers.CharField(
        required=False), replan_page=serializers.CharField(required=False))


class HostNetworkViewSet(viewsets.GenericViewSet):
    """Host networking: Linux bridges, VLANs, bonds, MTU, up/down, addresses and port moves,
    applied with an on-host automatic rollback unless kvmweb proves it still reaches the host.
    Every action also has a `plan/` twin that answers the plan without enqueuing anything."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = HostTreeSerializer
    lookup_value_regex = r"\d+"
    host_action = None  # set per endpoint (see _endpoint below)

    def get_queryset(self):
        return visible_host_networks(self.request.user)

    def get_serializer_class(self):
        return ACTION_SERIALIZERS.get(self.host_action, HostTreeSerializer)

    def retrieve(self, request, pk=None):
        host = self.get_object()
        return Response({"host": host.pk, "name": host.name,
                         "version": versions.current_version(host),
                         "interfaces": tree.as_data(tree.build(host, request.user))})

    def _plan(self, request):
        host = self.get_object()
        require_change_host_network(request.user)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        params = dict(body.validated_data)
        force = params.pop("force")
        version = params.pop("version", None)
        params = {k: v for k, v in params.items() if v not in (None, "")}
        try:
            plan = services.build_plan(host, self.host_action, params, force=force)
        except plans.PlanError as exc:
            raise ValidationError({k: [v] for k, v in exc.errors.items()}) from exc
        return host, params, force, plan, version

    def _change(self, request):
        host, params, force, plan, version = self._plan(request)
        with transaction.atomic():
            op = services.start(request.user, host, self.host_action, params, force=force,
                                version=version)
        data = ChangeStartedSerializer(op, context=self.get_serializer_context()).data
        return Response({**data, "plan": plan}, status=status.HTTP_202_ACCEPTED)


def _endpoint(name, label, body, plan_only):
    """One action's change endpoint (or its plan/ twin), documented with the action's body."""
    path = f"{name}/plan" if plan_only else name

    def endpoint(self, request, pk=None):
        if plan_only:
            return Response(self._plan(request)[3])
        return self._change(request)

    endpoint.__name__ = path.replace("/", "_")
    endpoint = extend_schema(
        summary=f"{label}: the plan only, nothing enqueued" if plan_only else label,
        request=body, operation_id=f"hostnet_{endpoint.__name__}",
        responses={200: PlanSerializer} if plan_only else {202: ChangeStartedSerializer,
                                                           409: CHANGED},
    )(endpoint)
    return action(detail=True, methods=["post"], url_path=path, host_action=name)(endpoint)


for _name, _label in plans.ACTIONS.items():
    for _plan_only in (False, True):
        _view = _endpoint(_name, _label, ACTION_SERIALIZERS[_name], _plan_only)
        setattr(HostNetworkViewSet, _view.__name__, _view)
