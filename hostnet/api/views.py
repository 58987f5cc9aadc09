"""API: /api/hostnet/<host>/ (interface tree), POST /api/hostnet/<host>/<action>/ (validate, then
202 + the Operation), POST /api/hostnet/<host>/<action>/plan/ (the plan only, nothing enqueued)."""

from django.db import transaction
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ..access import require_change_host_network, visible_host_networks
from operations.api.serializers import OperationSerializer

from .. import plans, services, tree


class HostNetworkViewSet(viewsets.GenericViewSet):
    """Host networking: Linux bridges, VLANs, bonds, MTU, up/down, addresses and port moves,
    applied with an on-host automatic rollback unless kvmweb proves it still reaches the host.
    Actions: bridge_create, bridge_delete, vlan_create, bond_create, mtu, link_state, addresses,
    port_move. Common fields: timeout (s, default 10), persist (default true), force ("I know":
    lifts only the management-path checks)."""

    permission_classes = [permissions.IsAuthenticated]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return visible_host_networks(self.request.user)

    def retrieve(self, request, pk=None):
        host = self.get_object()
        return Response({"host": host.pk, "name": host.name,
                         "interfaces": tree.as_data(tree.build(host, request.user))})

    def _plan(self, request, host, action):
        if action not in plans.ACTIONS:
            raise ValidationError({"action": f"unknown action; one of {', '.join(plans.ACTIONS)}"})
        require_change_host_network(request.user)
        params = dict(request.data)
        force = bool(params.pop("force", False))
        try:
            return params, force, plans.build(action, params, services.read_model(host),
                                              host.address, force=force)
        except plans.PlanError as exc:
            raise ValidationError({k: [v] for k, v in exc.errors.items()}) from exc

    @action(detail=True, methods=["post"], url_path=r"(?P<action_name>[a-z_]+)")
    def change(self, request, pk=None, action_name=None):
        host = self.get_object()
        params, force, plan = self._plan(request, host, action_name)
        with transaction.atomic():
            op = services.start(request.user, host, action_name, params, force=force)
        data = OperationSerializer(op, context=self.get_serializer_context()).data
        return Response({**data, "plan": plan}, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"], url_path=r"(?P<action_name>[a-z_]+)/plan")
    def plan(self, request, pk=None, action_name=None):
        host = self.get_object()
        _, _, plan = self._plan(request, host, action_name)
        return Response(plan)
