from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from kvmweb import api_params

from ..access import visible_operations
from .serializers import OperationSerializer


@extend_schema_view(list=extend_schema(parameters=[api_params.HOST]))
class OperationViewSet(viewsets.ReadOnlyModelViewSet):
    """Operations: every change kvmweb makes on a host, with progress and log."""

    serializer_class = OperationSerializer

    def get_queryset(self):
        qs = visible_operations(self.request.user)
        host = api_params.int_param(self.request, "host")
        if host is not None:
            qs = qs.filter(host_id=host)
        return qs.select_related("user")
