"""API: GET /api/topology/ (the graph for a focus), /api/topology/deltas/ (what changed on a
host since a version), /api/topology/path/ (the wire between two nodes). Read-only; login."""

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import access, services
from ..graph import ALL, path
from .serializers import (DeltaListSerializer, DeltaQuerySerializer, FocusQuerySerializer,
                          GraphSerializer, PathQuerySerializer, PathSerializer)


class TopologyViewSet(viewsets.GenericViewSet):
    """How every VM is wired: hosts, host interfaces (NIC, bridge, bond, VLAN, veth, tap,
    macvtap), libvirt networks, VMs and their NICs, and the LAN segments between hosts, as
    Cytoscape elements. Follow ``host.<pk>`` on /ws/live/ for ``topology.delta`` events."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = GraphSerializer

    @extend_schema(parameters=[FocusQuerySerializer],
                   responses={200: GraphSerializer, 400: OpenApiTypes.OBJECT,
                              404: OpenApiTypes.OBJECT})
    def list(self, request):
        query = FocusQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        focus = access.focus_for(request.user, **query.validated_data)
        found = services.published_view(request.user, focus)
        if found is not None:  # the hosts' kept fragments joined (built: hosts partly hidden)
            return HttpResponse(services.graph_json(focus, found), content_type="application/json")
        g, versions = services.view_for(request.user, focus)
        elements = g.as_elements()
        return Response({"focus": {"kind": focus.kind, "host": focus.host, "key": focus.key},
                         "versions": {str(k): v for k, v in versions.items()},
                         **{group: [{"data": services.compact(e["data"])} for e in items]
                            for group, items in elements.items()}})

    @extend_schema(parameters=[DeltaQuerySerializer],
                   responses={200: DeltaListSerializer, 400: OpenApiTypes.OBJECT,
                              404: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"])
    def deltas(self, request):
        """The deltas of one host after ``since``, oldest first. 409 when they are no longer
        all kept (or, for a user who does not see every VM of the host, never sent): fetch
        ``/api/topology/?host=<pk>`` again."""
        query = DeltaQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        host, since = query.validated_data["host"], query.validated_data["since"]
        if not access.can_view_host_part(request.user, host):
            raise Http404("no such host, or you may not see it")
        found = services.deltas_since(host, since) if access.pushes_deltas(request.user) else None
        if found is None:
            return Response({"detail": f"fetch /api/topology/?host={host} again"},
                            status=status.HTTP_409_CONFLICT)
        version = found[-1]["version"] if found else since
        return Response({"host": host, "version": version, "deltas": found})

    @extend_schema(parameters=[PathQuerySerializer],
                   responses={200: PathSerializer, 400: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"])
    def path(self, request):
        """The shortest wire between two nodes the user may see (e.g. two VM NICs), across
        hosts through the LAN; never through a VM. A node outside the user's view is as unknown:
        no path."""
        query = PathQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        g, _ = services.view_for(request.user, ALL)
        a, b = query.validated_data["a"], query.validated_data["b"]
        return Response({"path": path(g, a, b)})
