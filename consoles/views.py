"""The console pages (serial: xterm.js, graphical: noVNC). They read the database only; the
browser then asks the API for a one-time ticket and opens the console's websocket with it."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from vms.access import visible_vms

from . import services
from .access import console_refusal
from .choices import KINDS


@xframe_options_sameorigin  # the VM page's Console tab embeds it
def console_page(request, pk, kind):
    if kind not in dict(KINDS):
        raise Http404("no such console")
    vm = get_object_or_404(visible_vms(request.user).select_related("host"), pk=pk)
    refusal = console_refusal(request.user, vm)
    if refusal:
        raise PermissionDenied(refusal)
    return render(request, f"consoles/{kind}.html", {
        "vm": vm, "kind": kind, "display": services.vnc_display(vm),
        "embedded": request.GET.get("embed") == "1",
    })
