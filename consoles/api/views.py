from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from vms.access import visible_vms

from .. import services
from ..access import visible_sessions
from .serializers import ConsoleSessionSerializer, TicketRequestSerializer, TicketSerializer


class ConsoleTicketView(APIView):
    """A one-time console ticket: open the websocket it names within 30 s, once. Needs the
    right to operate the VM."""

    @extend_schema(request=TicketRequestSerializer, responses={201: TicketSerializer})
    def post(self, request):
        body = TicketRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        vm = get_object_or_404(visible_vms(request.user), pk=body.validated_data["vm"])
        kind = body.validated_data["kind"]
        try:
            ticket = services.issue_ticket(request.user, vm, kind)
        except services.Refused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response(TicketSerializer({
            "ticket": ticket, "expires_in": settings.KVMWEB_CONSOLE_TICKET_TTL,
            "websocket": f"/ws/console/{vm.pk}/{kind}/",
        }).data, status=status.HTTP_201_CREATED)


class ConsoleSessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                            viewsets.GenericViewSet):
    """Console sessions: who opened which console, when, for how long. Administrators see
    all; others their own."""

    serializer_class = ConsoleSessionSerializer

    @extend_schema(parameters=[OpenApiParameter("vm", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        qs = visible_sessions(self.request.user)
        if self.request.query_params.get("vm", "").isdigit():
            qs = qs.filter(vm_id=self.request.query_params["vm"])
        return qs
