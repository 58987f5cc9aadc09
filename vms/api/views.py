from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.decorators import action
from rest_framework.response import Response

from hosts.access import visible_hosts
from kvmweb import api_params
from kvmweb.access import creating_teams
from kvmweb.api_schema import DRIFTED, conflict, drift_fields
from operations.api.serializers import OperationSerializer

from .. import addresses, services
from ..access import visible_vms
from ..choices import STATES
from ..models import StoragePool
from ..validation import nic_warnings, normalize_mac
from .serializers import (HostRefSerializer, NICAddSerializer, NICChangeSerializer, NICSerializer,
                          NICUpdateSerializer, PoolSerializer, ShutdownSerializer, VMCreateSerializer, VMSerializer)


EDIT_CONFLICT = conflict(
    "VM not changed: it changed since the change was planned against `version` (the body has "
    "the current `version`, the `seen_version` and the `diff` since: plan again), " + DRIFTED,
    diff=serializers.CharField(required=False),
    version=serializers.CharField(required=False, help_text="the version to plan against"),
    seen_version=serializers.CharField(required=False),
    replan_page=serializers.CharField(required=False), **drift_fields())
VERSION = OpenApiParameter("version", OpenApiTypes.STR, description="the VM's `version` this "
                           "change was planned against (a stale one answers 409)")


def _version_param(request):
    values = request.query_params.getlist("version")
    if len(values) > 1:
        raise ValidationError({"version": ["give one version"]})
    return values[0] if values else None


@extend_schema_view(list=extend_schema(parameters=[
    api_params.HOST, api_params.choice("state", STATES, "only VMs in this state")]))
class VMViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """VMs (libvirt domains) on every host you can see. Changes are Operations: the answer is
    202 with the Operation; follow it at /api/operations/<id>/."""

    serializer_class = VMSerializer

    def get_queryset(self):
        qs = visible_vms(self.request.user).select_related("host").prefetch_related("nics")
        host = api_params.int_param(self.request, "host")
        state = api_params.choice_param(self.request, "state", STATES)
        if host is not None:
            qs = qs.filter(host_id=host)
        if state:
            qs = qs.filter(state=state)
        return qs

    def _accepted(self, op):
        return Response(OperationSerializer(op, context=self.get_serializer_context()).data,
                        status=status.HTTP_202_ACCEPTED)

    def _run(self, func, *args):
        try:
            return self._accepted(func(self.request.user, *args))
        except services.Invalid as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)

    def _run_nic(self, func, *args, warnings=(), offers=()):
        """Like _run, with the NIC warnings and the next steps offered (NICChangeSerializer)."""
        try:
            op = func(self.request.user, *args)
        except services.Invalid as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        context = {**self.get_serializer_context(), "warnings": list(warnings),
                   "offers": list(offers)}
        return Response(NICChangeSerializer(op, context=context).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=VMCreateSerializer, responses={202: NICChangeSerializer})
    def create(self, request):
        body = VMCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        spec = dict(body.validated_data)
        host = get_object_or_404(visible_hosts(request.user), pk=spec.pop("host"))
        team_pk = spec.pop("team", None)
        team = get_object_or_404(creating_teams(request.user), pk=team_pk) if team_pk else None
        spec["nics"] = [dict(n) for n in spec.get("nics") or []]
        warnings = [f"NIC {n + 1}: {w}" for n, nic in enumerate(spec["nics"])
                    for w in nic_warnings(host, nic)]
        return self._run_nic(services.request_create, host, spec, team, warnings=warnings)

    @extend_schema(parameters=[api_params.boolean("remove_disks", "also delete its disk volumes"),
                               VERSION],
                   responses={202: OperationSerializer, 409: EDIT_CONFLICT})
    def destroy(self, request, pk=None):
        """Undefine the VM (forcing it off first); with remove_disks=true also delete its disk
        volumes (listed in the VM's `disks`; CD-ROM images are kept)."""
        vm = self.get_object()
        remove = bool(api_params.bool_param(request, "remove_disks"))
        return self._run(services.request_delete, vm, remove, _version_param(request))

    def _action(self, name):
        return self._run(services.request_action, self.get_object(), name)

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._action("start")

    @extend_schema(request=ShutdownSerializer, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def shutdown(self, request, pk=None):
        """ACPI power button; the operation fails if the guest is not off after `timeout`
        seconds (default 120): then use destroy (force off)."""
        body = ShutdownSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._run(services.request_action, self.get_object(), "shutdown",
                         body.validated_data.get("timeout"))

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def reboot(self, request, pk=None):
        return self._action("reboot")

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"], url_path="destroy", url_name="force-off")
    def force_off(self, request, pk=None):
        """Force off (virsh destroy): pulls the plug, the VM stays defined."""
        return self._action("destroy")

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return self._action("suspend")

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._action("resume")

    @extend_schema(methods=["get"], responses=NICSerializer(many=True))
    @extend_schema(methods=["post"], request=NICAddSerializer,
                   responses={202: NICChangeSerializer, 409: EDIT_CONFLICT})
    @action(detail=True, methods=["get", "post"])
    def nics(self, request, pk=None):
        """NICs with counters and addresses (and where each address came from); POST adds one
        (hot-plugged when the VM runs)."""
        vm = self.get_object()
        if request.method == "GET":
            found = addresses.for_vm(vm)
            return Response(NICSerializer(vm.nics.all(), many=True,
                                          context={"addresses": found}).data)
        body = NICAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        nic = dict(body.validated_data)
        version = nic.pop("version", None)
        return self._run_nic(services.request_nic_add, vm, nic, version,
                             warnings=nic_warnings(vm.host, nic))

    @extend_schema(methods=["patch"], request=NICUpdateSerializer,
                   responses={202: NICChangeSerializer, 409: EDIT_CONFLICT})
    @extend_schema(methods=["delete"], request=None, parameters=[VERSION],
                   responses={202: OperationSerializer, 409: EDIT_CONFLICT})
    @extend_schema(methods=["get"], responses=NICSerializer)
    @action(detail=True, methods=["get", "patch", "delete"],
            url_path=r"nics/(?P<mac>[0-9A-Fa-f:-]{17})", url_name="nic")
    def nic(self, request, pk=None, mac=None):
        """One NIC by MAC: PATCH changes it (source network/bridge/macvtap, link_state, model,
        mac, bandwidth, portgroup); DELETE removes it."""
        vm = self.get_object()
        nic = get_object_or_404(vm.nics.all(), mac=normalize_mac(mac))
        if request.method == "GET":
            return Response(NICSerializer(nic, context={"addresses": addresses.for_vm(vm)}).data)
        if request.method == "DELETE":
            return self._run(services.request_nic_remove, vm, nic, _version_param(request))
        body = NICUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        version = changes.pop("version", None)
        moved = bool(changes.get("source")) and changes["source"] != nic.source
        spec = {"type": changes.get("type") or nic.type, "source": changes.get("source")}
        warnings = nic_warnings(vm.host, spec, old=nic, running=vm.state == "running") \
            if moved else []
        return self._run_nic(services.request_nic_update, vm, nic, changes, version, warnings=warnings,
                             offers=services.nic_offers(vm, nic, changes) if moved else [])

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"], url_path=r"nics/(?P<mac>[0-9A-Fa-f:-]{17})/bounce",
            url_name="nic-bounce")
    def nic_bounce(self, request, pk=None, mac=None):
        """Bounce a running VM's NIC link: down for a few seconds, then up (live only), so the
        guest asks DHCP again, e.g. after its source moved."""
        vm = self.get_object()
        nic = get_object_or_404(vm.nics.all(), mac=normalize_mac(mac))
        return self._run(services.request_nic_bounce, vm, nic)

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"], url_path=r"nics/(?P<mac>[0-9A-Fa-f:-]{17})/persist",
            url_name="nic-persist")
    def nic_persist(self, request, pk=None, mac=None):
        """Keep a running NIC where it is now (after a host network port move, which lasts
        only until the VM stops): its live source is written into the VM's config."""
        vm = self.get_object()
        nic = get_object_or_404(vm.nics.all(), mac=normalize_mac(mac))
        return self._run(services.request_nic_persist, vm, nic)

    @extend_schema(parameters=[api_params.HOST], responses=PoolSerializer(many=True))
    @action(detail=False, methods=["get"])
    def pools(self, request):
        """Storage pools and their volumes per host (read by the VM refresh)."""
        qs = StoragePool.objects.filter(host__in=visible_hosts(request.user)).prefetch_related("volumes")
        # (Pools are host facts every member of a granted team may read, like interfaces.)
        host = api_params.int_param(request, "host")
        if host is not None:
            qs = qs.filter(host_id=host)
        return Response(PoolSerializer(qs, many=True).data)

    @extend_schema(request=HostRefSerializer, responses={202: OperationSerializer})
    @action(detail=False, methods=["post"])
    def refresh(self, request):
        """Re-read one host: inventory, storage pools, guest addresses (agent / ARP)."""
        body = HostRefSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        host = get_object_or_404(visible_hosts(request.user), pk=body.validated_data["host"])
        return self._run(services.request_refresh, host)

