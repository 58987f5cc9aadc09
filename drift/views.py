"""Drift pages: the fleet-wide list, one drift with its diff, accept and re-apply. They read the
database only; a re-apply is an Operation."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hosts.access import visible_hosts

from . import choices, services
from .access import can_decide, drifted_object, require_decide, visible_drifts


def drift_list(request):
    status = request.GET.get("status", choices.OPEN)  # "": any
    drifts = visible_drifts(request.user)
    if status in dict(choices.STATUSES):
        drifts = drifts.filter(status=status)
    host = request.GET.get("host")
    if host and host.isdigit():
        drifts = drifts.filter(host_id=int(host))
    return render(request, "drift/list.html", {
        "drifts": drifts[:200], "status": status, "statuses": choices.STATUSES,
        "hosts": visible_hosts(request.user), "host_pk": host})


def _drift(request, pk):
    return get_object_or_404(visible_drifts(request.user), pk=pk)


def drift_detail(request, pk):
    drift = _drift(request, pk)
    return render(request, "drift/detail.html", {
        "drift": drift, "object": drifted_object(drift),
        "can_decide": can_decide(request.user, drift)})


@require_POST
def drift_accept(request, pk):
    drift = _drift(request, pk)
    require_decide(request.user, drift)
    try:
        services.accept(request.user, drift)
    except services.Undecidable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The host's version of {drift.name} is now kvmweb's.")
    return redirect(drift)


@require_POST
def drift_reapply(request, pk):
    drift = _drift(request, pk)
    require_decide(request.user, drift)
    try:
        op = services.start_reapply(request.user, drift, bool(request.POST.get("confirm")))
    except services.Undecidable as exc:
        if "confirm" in str(exc) and not request.POST.get("confirm"):
            return render(request, "drift/confirm.html", {"drift": drift, "reason": str(exc)})
        messages.error(request, str(exc))
        return redirect(drift)
    messages.info(request, f"Re-applying kvmweb's version of {drift.name} (operation {op.pk}).")
    return redirect(drift)
