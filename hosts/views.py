"""Host pages. They read the database only; anything that talks to a host is an Operation."""

from django.contrib import messages
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import services
from operations.access import visible_operations

from .access import (can_manage_hosts, can_sync_host, require_manage_hosts, require_sync_host,
                     visible_hosts)
from .api.views import annotated
from .forms import HostForm, PinKeyForm


def host_list(request):
    hosts = annotated(visible_hosts(request.user))
    return render(request, "hosts/list.html", {
        "hosts": hosts, "can_manage": can_manage_hosts(request.user),
    })


def _require_manager(request):
    require_manage_hosts(request.user)


def host_add(request):
    _require_manager(request)
    form = HostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            host = form.save(commit=False)
            services.add_host(request.user, host)
        return redirect(host)
    return render(request, "hosts/add.html", {"form": form, "public_key": services.public_key()})


def host_detail(request, pk):
    host = get_object_or_404(annotated(visible_hosts(request.user)), pk=pk)
    from networks.access import visible_networks
    from vms.access import visible_vms

    domains = visible_vms(request.user).filter(host=host).prefetch_related("nics")
    from vms.addresses import addresses_by_mac

    found = addresses_by_mac((host.pk, nic.mac) for dom in domains for nic in dom.nics.all())
    rows = [(dom, [(nic, found.get((host.pk, nic.mac), [])) for nic in dom.nics.all()])
            for dom in domains]
    interfaces = list(host.interfaces.all())
    ports = {}
    for iface in interfaces:
        if iface.master:
            ports.setdefault(iface.master, []).append(iface)
    owners = {nic.target: dom.name for dom in domains for nic in dom.nics.all() if nic.target}
    return render(request, "hosts/detail.html", {
        "host": host,
        "networks": visible_networks(request.user).filter(host=host),
        "domain_rows": rows,
        "interfaces": [i for i in interfaces if not i.master],
        "ports": ports,
        "owners": owners,
        "operations": visible_operations(request.user).filter(host=host).select_related("user")[:20],
        "current_operations": current_operations(host, request.user),
        "can_manage": can_manage_hosts(request.user),
        "can_sync": can_sync_host(request.user, host),
        "pin_form": PinKeyForm(initial={"fingerprint": host.offered_fingerprint}),
    })


def current_operations(host, user):
    """What is running on this host now, and what just finished (its outcome stays in view)."""
    recent = timezone.now() - timedelta(minutes=2)
    return visible_operations(user).filter(host=host).filter(Q(finished__isnull=True) | Q(finished__gte=recent))[:5]


@require_POST
def host_sync(request, pk):
    host = get_object_or_404(visible_hosts(request.user), pk=pk)
    require_sync_host(request.user, host)  # Refused: the 403 page says why
    try:
        with transaction.atomic():
            services.request_sync(request.user, host)
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect(host)


@require_POST
def host_scan_key(request, pk):
    _require_manager(request)
    host = get_object_or_404(visible_hosts(request.user), pk=pk)
    with transaction.atomic():
        services.start_scan(request.user, host)
    return redirect(host)


@require_POST
def host_pin_key(request, pk):
    _require_manager(request)
    host = get_object_or_404(visible_hosts(request.user), pk=pk)
    form = PinKeyForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                services.pin_key(host, request.user, form.cleaned_data["fingerprint"])
            messages.success(request, f"Pinned {host.offered_fingerprint}; connecting.")
        except ValueError as exc:
            messages.error(request, str(exc))
    return redirect(host)


@require_POST
def host_delete(request, pk):
    _require_manager(request)
    host = get_object_or_404(visible_hosts(request.user), pk=pk)
    name = host.name
    services.remove_host(request.user, host)
    messages.success(request, f"Removed {name} from kvmweb. Nothing was changed on the host.")
    return redirect("hosts:list")
