"""API: /api/drift/ (changes made on hosts outside kvmweb), accept and re-apply."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kvmweb import api_params
from kvmweb.api_schema import conflict
from operations.api.serializers import OperationSerializer

from .. import choices, services
from ..access import require_decide, visible_drifts
from .serializers import DriftSerializer, ReapplySerializer

UNDECIDABLE = conflict("Drift not decided: it is decided already, being re-applied, an "
                       "operation is running on the object, or re-applying restarts the "
                       "network (send confirm=true); the detail says which")


@extend_schema_view(list=extend_schema(parameters=[
    api_params.HOST,
    api_params.choice("status", [s for s, _ in choices.STATUSES], "only drift in this state"),
    api_params.choice("kind", [k for k, _ in choices.KINDS], "only drift of networks or VMs")]))
class DriftViewSet(viewsets.ReadOnlyModelViewSet):
    """Changes made on a host outside kvmweb (virsh, another tool), noticed by a sync or the
    watcher: kvmweb's version, the host's, and the diff. An edit of a drifted network or VM is
    refused (409) until someone accepts the host's version or re-applies kvmweb's."""

    serializer_class = DriftSerializer

    def get_queryset(self):
        qs = visible_drifts(self.request.user)
        host = api_params.int_param(self.request, "host")
        state = api_params.choice_param(self.request, "status", [s for s, _ in choices.STATUSES])
        kind = api_params.choice_param(self.request, "kind", [k for k, _ in choices.KINDS])
        if host is not None:
            qs = qs.filter(host_id=host)
        if state:
            qs = qs.filter(status=state)
        if kind:
            qs = qs.filter(kind=kind)
        return qs

    def _decidable(self):
        drift = self.get_object()
        require_decide(self.request.user, drift)
        return drift

    @extend_schema(request=None, responses={200: DriftSerializer, 409: UNDECIDABLE})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Adopt the host's version as kvmweb's: edits of the object may go ahead."""
        drift = self._decidable()
        try:
            drift = services.accept(request.user, drift)
        except services.Undecidable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(DriftSerializer(drift, context=self.get_serializer_context()).data)

    @extend_schema(request=ReapplySerializer,
                   responses={202: OperationSerializer, 409: UNDECIDABLE})
    @action(detail=True, methods=["post"])
    def reapply(self, request, pk=None):
        """Put kvmweb's version back on the host (an Operation: follow it)."""
        drift = self._decidable()
        body = ReapplySerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        try:
            op = services.start_reapply(request.user, drift, body.validated_data["confirm"])
        except services.Undecidable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(OperationSerializer(op, context=self.get_serializer_context()).data,
                        status=status.HTTP_202_ACCEPTED)
