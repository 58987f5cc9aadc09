from django.db import transaction
from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kvmweb.api_schema import conflict
from operations.api.serializers import OperationSerializer

from .. import rates, services
from ..access import can_manage_hosts, require_sync_host, visible_hosts
from ..models import Host
from .serializers import (HostCreatedSerializer, HostInterfaceSerializer, HostSerializer,
                          InterfaceRatesQuerySerializer, InterfaceRatesSerializer,
                          PinKeySerializer)


class ManageHostsOrReadOnly(permissions.BasePermission):
    message = "only administrators add, change, pin or remove hosts"

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS or view.action == "sync":
            return True
        return can_manage_hosts(request.user)


def annotated(qs):
    return qs.annotate(
        network_count=Count("networks", distinct=True),
        domain_count=Count("domains", distinct=True),
        running_count=Count("domains", filter=Q(domains__state="running"), distinct=True),
    )


class HostViewSet(viewsets.ModelViewSet):
    """Hypervisor hosts reached over qemu+ssh. Adding one starts a host-key scan; pin the
    offered key with `pin-key` and kvmweb connects and syncs."""

    serializer_class = HostSerializer
    permission_classes = [permissions.IsAuthenticated, ManageHostsOrReadOnly]

    def get_queryset(self):
        return annotated(visible_hosts(self.request.user))

    @extend_schema(responses=HostCreatedSerializer)
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            host = Host(**serializer.validated_data)
            op = services.add_host(request.user, host)
        host = self.get_queryset().get(pk=host.pk)
        data = HostCreatedSerializer(host, context=self.get_serializer_context()).data
        data["operation"] = OperationSerializer(op, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.remove_host(self.request.user, instance)

    def perform_update(self, serializer):
        old_uri = serializer.instance.uri
        host = serializer.save()
        if host.uri != old_uri:
            # A new address is a new machine as far as trust goes: forget the pinned key.
            Host.objects.filter(pk=host.pk).update(host_key="", host_key_fingerprint="",
                                                   status=Host.Status.NEW, status_reason="")
            host.refresh_from_db()
            services.add_host(self.request.user, host)

    @extend_schema(request=None, responses={
        202: OperationSerializer, 409: conflict("The host cannot be synced now (say why)")})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        host = self.get_object()
        require_sync_host(request.user, host)
        try:
            op = services.request_sync(request.user, host)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(OperationSerializer(op, context=self.get_serializer_context()).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=InterfaceRatesSerializer,
                   parameters=[InterfaceRatesQuerySerializer])
    @action(detail=True, methods=["get"])
    def rates(self, request, pk=None):
        """The last minutes of one interface's per-second rx/tx rates (kept in Redis while a
        browser followed the host), so a graph starts filled; live values come over the
        websocket group ``rates.<pk>``."""
        host = self.get_object()
        query = InterfaceRatesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        iface = query.validated_data["iface"]
        return Response(InterfaceRatesSerializer({
            "host": host.pk, "iface": iface, "seconds": rates.history_seconds(),
            "points": rates.history(host.pk, iface)}).data)

    @extend_schema(request=None, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"], url_path="scan-key")
    def scan_key(self, request, pk=None):
        host = self.get_object()
        op = services.start_scan(request.user, host)
        return Response(OperationSerializer(op, context=self.get_serializer_context()).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=PinKeySerializer, responses={202: OperationSerializer})
    @action(detail=True, methods=["post"], url_path="pin-key")
    def pin_key(self, request, pk=None):
        host = self.get_object()
        body = PinKeySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                op = services.pin_key(host, request.user, body.validated_data["fingerprint"])
        except ValueError as exc:
            return Response({"fingerprint": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(OperationSerializer(op, context=self.get_serializer_context()).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=HostInterfaceSerializer(many=True))
    @action(detail=True, methods=["get"])
    def interfaces(self, request, pk=None):
        host = self.get_object()
        return Response(HostInterfaceSerializer(host.interfaces.all(), many=True).data)
