from django.shortcuts import get_object_or_404, render

from hosts.access import visible_hosts

from .access import visible_operations
from .models import Operation


def operation_list(request):
    """Every operation on every host the user can see, newest first; filter by host and status."""
    hosts = visible_hosts(request.user)
    ops = visible_operations(request.user).select_related("host", "user")
    host_pk = request.GET.get("host", "")
    status = request.GET.get("status", "")
    if host_pk.isdigit():
        ops = ops.filter(host_id=int(host_pk))
    if status in Operation.Status.values:
        ops = ops.filter(status=status)
    return render(request, "operations/list.html", {
        "operations": ops[:200], "hosts": hosts, "host_pk": host_pk, "status": status,
        "statuses": Operation.Status.choices})


def operation_detail(request, pk):
    op = get_object_or_404(visible_operations(request.user), pk=pk)
    return render(request, "operations/detail.html", {"op": op})
