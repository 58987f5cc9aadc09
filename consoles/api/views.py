from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from kvmweb.api_params import MAX_ID, int_param
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

    @extend_schema(parameters=[OpenApiParameter(
        "vm", {"type": "integer", "minimum": 0, "maximum": MAX_ID}, description="only this VM's (its id)")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        qs = visible_sessions(self.request.user)
        vm = int_param(self.request, "vm")  # a bad or huge number is a 400, never a 500
        if vm is not None:
            qs = qs.filter(vm_id=vm)
        return qs
