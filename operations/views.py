from django.shortcuts import get_object_or_404, render

from .access import visible_operations


def operation_detail(request, pk):
    op = get_object_or_404(visible_operations(request.user), pk=pk)
    return render(request, "operations/detail.html", {"op": op})
