from django.shortcuts import get_object_or_404, render

from hosts.access import visible_hosts

from .models import Operation


def operation_detail(request, pk):
    op = get_object_or_404(Operation.objects.filter(host__in=visible_hosts(request.user)), pk=pk)
    return render(request, "operations/detail.html", {"op": op})
