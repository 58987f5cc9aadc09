from rest_framework import viewsets


from ..access import visible_operations
from .serializers import OperationSerializer


class OperationViewSet(viewsets.ReadOnlyModelViewSet):
    """Operations: every change kvmweb makes on a host, with progress and log."""

    serializer_class = OperationSerializer

    def get_queryset(self):
        qs = visible_operations(self.request.user)
        host = self.request.query_params.get("host")
        if host:
            qs = qs.filter(host_id=host)
        return qs.select_related("user")
