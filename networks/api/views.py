from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kvmweb import api_params
from kvmweb.api_schema import DRIFTED, conflict, drift_fields
from kvmweb.conflicts import refuse_edit
from operations.api.serializers import OperationSerializer

from .. import choices, intake, services, versions
from ..access import require_change_network, require_read_firewall, visible_networks
from .serializers import (AttachedNICSerializer, AutostartSerializer, ConfirmSerializer,
                          FirewallSerializer, LeaseSerializer, NetworkCreateSerializer,
                          NetworkEditSerializer, NetworkSerializer)

IN_USE = conflict("VM NICs use this network; send confirm=true to go ahead",
                  attached_nics=AttachedNICSerializer(many=True))
IN_USE_OR_DRIFTED = conflict("Either VM NICs use this network (send confirm=true to go ahead), "
                             + DRIFTED, attached_nics=AttachedNICSerializer(many=True,
                                                                            required=False),
                             **drift_fields())
EDIT_CONFLICT = conflict(
    "Not applied: either the change restarts the network (send confirm=true), or the network "
    "changed since the edit was planned against `version` (the body has the current `version`, "
    "the `seen_version` and the `diff` of what changed since: re-plan against it), " + DRIFTED,
    diff=serializers.CharField(required=False),
    version=serializers.CharField(required=False, help_text="the version to plan against"),
    seen_version=serializers.CharField(required=False), **drift_fields())


class XMLTextParser(parsers.BaseParser):
    """A raw <network> document as the request body (Content-Type: application/xml)."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None):
        return {"xml": stream.read().decode("utf-8", errors="replace")}


def nics_in_use(network):
    return [{"vm": n.domain.name, "state": n.domain.state, "mac": n.mac, "target": n.target}
            for n in network.attached_nics()]


@extend_schema_view(list=extend_schema(parameters=[
    api_params.HOST, api_params.choice("kind", choices.KINDS, "only networks of this kind"),
    api_params.boolean("active", "only running (true) or stopped (false) networks")]))
class NetworkViewSet(viewsets.ModelViewSet):
    """libvirt virtual networks on every host. Changes return the Operation (202) to follow."""

    serializer_class = NetworkSerializer
    parser_classes = [parsers.JSONParser, parsers.FormParser, parsers.MultiPartParser]

    def get_queryset(self):
        qs = visible_networks(self.request.user).select_related("host").annotate(
            lease_count=Count("leases"))
        host = api_params.int_param(self.request, "host")
        kind = api_params.choice_param(self.request, "kind", choices.KINDS)
        active = api_params.bool_param(self.request, "active")
        if host is not None:
            qs = qs.filter(host_id=host)
        if kind is not None:
            qs = qs.filter(kind=kind)
        if active is not None:
            qs = qs.filter(active=active)
        return qs

    def _op(self, op, extra=None, code=status.HTTP_202_ACCEPTED):
        data = OperationSerializer(op, context=self.get_serializer_context()).data
        return Response({**data, **(extra or {})}, status=code)

    def _changeable(self):
        network = self.get_object()
        require_change_network(self.request.user, network)
        return network

    @extend_schema(request=NetworkCreateSerializer, responses={202: OperationSerializer})
    def create(self, request, *args, **kwargs):
        body = NetworkCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data, result = body.validated_data, body.validated_data["intake"]
        with transaction.atomic():
            op = services.request_create(request.user, data["host"], result.xml,
                                         start_now=data.get("start", True),
                                         autostart=data.get("autostart", True), team=data["team"])
        return self._op(op, {"warnings": result.warnings})

    @extend_schema(request=NetworkEditSerializer,
                   responses={202: OperationSerializer, 409: EDIT_CONFLICT})
    def update(self, request, *args, **kwargs):
        network = self._changeable()
        body = NetworkEditSerializer(data=request.data, partial=True,
                                     context={**self.get_serializer_context(), "network": network})
        body.is_valid(raise_exception=True)
        return self._apply_edit(network, body.validated_data["intake"],
                                body.validated_data.get("confirm", False),
                                body.validated_data.get("version"))

    @extend_schema(request=NetworkEditSerializer,
                   responses={202: OperationSerializer, 409: EDIT_CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def _confirmed(self):
        """confirm=true in the body or the query string (a bad value is a 400)."""
        body = ConfirmSerializer(data=self._body())
        body.is_valid(raise_exception=True)
        return body.validated_data["confirm"] or bool(
            api_params.bool_param(self.request, "confirm"))

    def _body(self):
        return api_params.json_object(self.request)

    def _apply_edit(self, network, result, confirm, seen_version=None):
        refuse_edit(network.host_id, network.target)
        stale = versions.conflict(network, seen_version)
        if stale:
            return Response(stale, status=status.HTTP_409_CONFLICT)
        edit = intake.edit_plan(network, result.xml)
        intake.check_edit_for(self.request.user, network, result)
        if not edit["changed"]:
            return Response({"detail": "nothing to change", **edit}, status=status.HTTP_400_BAD_REQUEST)
        if edit["restart_required"] and not confirm:
            return Response({"detail": "this change restarts the network: guests on it lose "
                                       "connectivity; send confirm=true to apply it",
                             **edit, "warnings": result.warnings},
                            status=status.HTTP_409_CONFLICT)
        with transaction.atomic():
            op = services.start(self.request.user, network.host, edit["action"], network.name,
                                team=network.owner, xml=result.xml, base=network.xml)
        return self._op(op, {"diff": edit["diff"], "warnings": result.warnings})

    @extend_schema(request=ConfirmSerializer,
                   responses={202: OperationSerializer, 409: IN_USE_OR_DRIFTED},
                   parameters=[api_params.boolean("confirm", "delete even though VM NICs use it")])
    def destroy(self, request, *args, **kwargs):
        network = self._changeable()
        refuse_edit(network.host_id, network.target)
        confirm = self._confirmed()
        in_use = nics_in_use(network)
        if in_use and not confirm:
            return Response({"detail": f"{len(in_use)} VM NIC(s) use {network.name}; they lose "
                                       "their network. Send confirm=true to delete anyway.",
                             "attached_nics": in_use}, status=status.HTTP_409_CONFLICT)
        with transaction.atomic():
            op = services.start(request.user, network.host, "network.delete", network.name, team=network.owner)
        return self._op(op)

    def _lifecycle(self, action_name, **params):
        network = self._changeable()
        with transaction.atomic():
            op = services.start(self.request.user, network.host, action_name, network.name, team=network.owner,
                                **params)
        return self._op(op)

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._lifecycle("network.start")

    @extend_schema(request=ConfirmSerializer, responses={202: OperationSerializer, 409: IN_USE})
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        network = self._changeable()
        in_use = [n for n in nics_in_use(network) if n["state"] == "running"]
        confirm = self._confirmed()
        if in_use and not confirm:
            return Response({"detail": "running VMs use this network and lose connectivity; "
                                       "send confirm=true to stop it", "attached_nics": in_use},
                            status=status.HTTP_409_CONFLICT)
        return self._lifecycle("network.stop")

    @extend_schema(request=AutostartSerializer, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def autostart(self, request, pk=None):
        body = AutostartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._lifecycle("network.autostart", on=body.validated_data["on"])

    @extend_schema(methods=["get"], responses=FirewallSerializer)
    @extend_schema(methods=["post"], request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["get", "post"])
    def firewall(self, request, pk=None):
        network = self.get_object()
        if request.method == "GET":
            return Response({"rules": network.firewall, "read": network.firewall_read,
                             "error": network.firewall_error})
        require_read_firewall(request.user, network)
        with transaction.atomic():
            op = services.start(request.user, network.host, "network.firewall", network.name, team=network.owner)
        return self._op(op)

    @extend_schema(responses=LeaseSerializer(many=True))
    @action(detail=True, methods=["get"])
    def leases(self, request, pk=None):
        return Response(LeaseSerializer(self.get_object().leases.all(), many=True).data)

    @extend_schema(methods=["get"], responses={(200, "application/xml"): OpenApiTypes.STR})
    @extend_schema(methods=["put"],
                   request={"application/json": NetworkEditSerializer,
                            "application/xml": OpenApiTypes.STR},
                   parameters=[api_params.boolean("confirm", "apply a change that restarts "
                                                             "the network")],
                   responses={202: OperationSerializer, 409: EDIT_CONFLICT})
    @action(detail=True, methods=["get", "put"],
            parser_classes=[parsers.JSONParser, XMLTextParser, parsers.FormParser])
    def xml(self, request, pk=None):
        if request.method == "GET":
            network = self.get_object()
            response = HttpResponse(network.xml, content_type="application/xml")
            response["Content-Disposition"] = f'attachment; filename="{network.name}.xml"'
            return response
        network = self._changeable()
        data = {"xml": self._body().get("xml", ""), "confirm": self._confirmed(),
                "version": self._body().get("version") or request.query_params.get("version")}
        data = {k: v for k, v in data.items() if v is not None}
        body = NetworkEditSerializer(data=data, partial=True,
                                     context={**self.get_serializer_context(), "network": network})
        body.is_valid(raise_exception=True)
        return self._apply_edit(network, body.validated_data["intake"],
                                body.validated_data.get("confirm", False),
                                body.validated_data.get("version"))
