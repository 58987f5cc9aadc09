"""VM pages. They read the database only; every change is an Operation (see vms.services)."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hosts.access import visible_hosts
from hosts.models import HostInterface
from operations.access import visible_operations

from . import addresses, services, versions
from .access import can_operate_vm, require_change_vm, visible_vms
from .choices import ACTION_LABELS, ACTIONS_BY_STATE, VM_ACTIONS
from .forms import NICEditForm, NICForm, NICFormSet, VMCreateForm, add_errors
from .services import disk_paths, displays
from .models import Volume
from .validation import nic_warnings, normalize_mac


def vm_list(request):
    vms = visible_vms(request.user).select_related("host", "owner").prefetch_related("nics")
    host = None
    if request.GET.get("host"):
        host = get_object_or_404(visible_hosts(request.user), pk=request.GET["host"])
        vms = vms.filter(host=host)
    vms = list(vms)
    found = addresses.addresses_by_mac((vm.host_id, nic.mac) for vm in vms for nic in vm.nics.all())
    rows = [(vm, [a for nic in vm.nics.all() for a in found.get((vm.host_id, nic.mac), [])])
            for vm in vms]
    ops = visible_operations(request.user).filter(action__regex=r"^(vm|nic)\.")
    if host:
        ops = ops.filter(host=host)
    ops = ops.select_related("user")[:10]
    return render(request, "vms/list.html", {
        "rows": rows, "host": host, "hosts": visible_hosts(request.user), "operations": ops,
    })


def _vm(request, pk):
    vm = get_object_or_404(visible_vms(request.user).select_related("host"), pk=pk)
    return vm


def _sources(host, user):
    """What the NIC source field offers: the networks the user sees, bridges, devices."""
    from networks.access import visible_networks

    return {
        "networks": list(visible_networks(user).filter(host=host).values_list("name", "active")),
        "bridges": list(HostInterface.objects.filter(host=host, kind="bridge").values_list("name", flat=True)),
        "devices": list(HostInterface.objects.filter(host=host).exclude(
            kind__in=("loopback", "tun/tap", "macvtap", "bridge")).values_list("name", flat=True)),
    }


PREFILL = ("type", "source", "mode", "link_state")


def _prefill(request, prefix=""):
    """Form values a link pre-fills (reachability's fixes): ``?nic_type=bridge&nic_source=br0``
    on the VM page, ``?type=…&source=…&link_state=up`` on a NIC's page. Nothing is applied
    until the user submits the form."""
    return {k: request.GET[prefix + k] for k in PREFILL if request.GET.get(prefix + k)}


def vm_detail(request, pk, nic_form=None):
    vm = _vm(request, pk)
    prefilled = _prefill(request, "nic_")
    found = addresses.for_vm(vm)
    nics = [(nic, found.get((vm.host_id, nic.mac), [])) for nic in vm.nics.all()]
    # Each NIC's tap as the host's netlink stream last reported it: the row carries
    # data-iface, so live.js shows `ip link set vnetN down` at once (host.interfaces events).
    taps = {i.name: i for i in HostInterface.objects.filter(
        host_id=vm.host_id, name__in=[n.target for n, _ in nics if n.target])}
    for nic, _ in nics:
        nic.tap = taps.get(nic.target)
    shown = displays(vm.xml)
    return render(request, "vms/detail.html", {
        "vm": vm, "nics": nics, "version": versions.current_version(vm), "disks": disk_paths(vm.xml), "displays": shown,
        "has_vnc": any(d["type"] == "vnc" for d in shown),
        "may_operate": can_operate_vm(request.user, vm),
        "actions": [(a, ACTION_LABELS[a]) for a in ACTIONS_BY_STATE.get(vm.state, VM_ACTIONS)],
        "nic_form": nic_form or NICForm(initial=prefilled), "nic_prefilled": bool(prefilled),
        "sources": _sources(vm.host, request.user),
        "operations": visible_operations(request.user).filter(
            host=vm.host, target=f"domain:{vm.uuid}").select_related("user")[:15],
    })


def _require_change(request, vm):
    require_change_vm(request.user, vm)


@require_POST
def vm_action(request, pk, action):
    vm = _vm(request, pk)
    _require_change(request, vm)
    if action not in VM_ACTIONS:
        raise Http404("no such action")
    try:
        op = services.request_action(request.user, vm, action)
        messages.info(request, f"{ACTION_LABELS[action]}: operation #{op.pk} queued.")
    except services.Invalid as exc:
        messages.error(request, "; ".join(m for ms in exc.errors.values() for m in ms))
    return redirect("vms:detail", pk=vm.pk)


@require_POST
def vm_delete(request, pk):
    vm = _vm(request, pk)
    _require_change(request, vm)
    op = services.request_delete(request.user, vm, request.POST.get("remove_disks") == "on",
                                 request.POST.get("version"))
    messages.info(request, f"Deleting {vm.name} on {vm.host}: operation #{op.pk}.")
    return redirect(f"{_list_url()}?host={vm.host_id}")


def _list_url():
    from django.urls import reverse

    return reverse("vms:list")


@require_POST
def nic_add(request, pk):
    vm = _vm(request, pk)
    _require_change(request, vm)
    form = NICForm(request.POST)
    if form.is_valid():
        try:
            op = services.request_nic_add(request.user, vm, form.cleaned_data,
                                          request.POST.get("version"))
            messages.info(request, f"Adding a NIC: operation #{op.pk}.")
            for warning in nic_warnings(vm.host, form.cleaned_data):
                messages.warning(request, warning)
            return redirect("vms:detail", pk=vm.pk)
        except services.Invalid as exc:
            add_errors(form, exc.errors)
    return vm_detail(request, pk, nic_form=form)


def nic_edit(request, pk, mac):
    vm = _vm(request, pk)
    nic = get_object_or_404(vm.nics.all(), mac=normalize_mac(mac))
    initial = {"type": nic.type, "source": nic.source, "mode": nic.mode, "portgroup": nic.portgroup,
               "model": nic.model or "virtio", "mac": nic.mac, "link_state": nic.link_state,
               **(_prefill(request) if request.method == "GET" else {})}
    form = NICEditForm(request.POST or None, initial=initial)
    if request.method == "POST":
        _require_change(request, vm)
        if form.is_valid():
            changes = {k: v for k, v in form.cleaned_data.items()
                       if k in form.changed_data and v not in ("", None)}
            if "source" in changes or "type" in changes or "mode" in changes:
                changes.update(type=form.cleaned_data["type"], source=form.cleaned_data["source"])
                if form.cleaned_data["type"] == "direct":
                    changes["mode"] = form.cleaned_data["mode"] or "bridge"
            try:
                op = services.request_nic_update(request.user, vm, nic, changes,
                                                 request.POST.get("version"))
                messages.info(request, f"Changing NIC {nic.mac}: operation #{op.pk}.")
                if "source" in changes:
                    for warning in nic_warnings(vm.host, form.cleaned_data, old=nic,
                                                running=vm.state == "running"):
                        messages.warning(request, warning)
                return redirect("vms:detail", pk=vm.pk)
            except services.Invalid as exc:
                add_errors(form, exc.errors)
    return render(request, "vms/nic_edit.html", {"vm": vm, "nic": nic, "form": form,
                                                 "version": request.POST.get("version")
                                                 or versions.current_version(vm),
                                                 "prefilled": request.method == "GET" and bool(_prefill(request)),
                                                 "persist": request.GET.get("persist", ""),
                                                 "sources": _sources(vm.host, request.user)})


def _nic_action(request, pk, mac, func, doing):
    vm = _vm(request, pk)
    _require_change(request, vm)
    nic = get_object_or_404(vm.nics.all(), mac=normalize_mac(mac))
    try:
        op = func(request.user, vm, nic)
        messages.info(request, f"{doing} {nic.mac}: operation #{op.pk}.")
    except services.Invalid as exc:
        messages.error(request, "; ".join(m for ms in exc.errors.values() for m in ms))
    return redirect("vms:detail", pk=vm.pk)


@require_POST
def nic_bounce(request, pk, mac):
    return _nic_action(request, pk, mac, services.request_nic_bounce, "Bouncing the link of")


@require_POST
def nic_persist(request, pk, mac):
    return _nic_action(request, pk, mac, services.request_nic_persist,
                       "Writing the running source into the config for")


@require_POST
def nic_remove(request, pk, mac):
    vm = _vm(request, pk)
    _require_change(request, vm)
    nic = get_object_or_404(vm.nics.all(), mac=normalize_mac(mac))
    op = services.request_nic_remove(request.user, vm, nic, request.POST.get("version"))
    messages.info(request, f"Removing NIC {nic.mac}: operation #{op.pk}.")
    return redirect("vms:detail", pk=vm.pk)


def _lab_nic(host, user):
    """Where the lab's tiny Linux is, its first NIC on the host's default network (when the user
    may use it): with the form's other defaults, a name is all a first guest needs."""
    from networks.access import may_use_network
    from networks.models import Network

    default = Network.objects.filter(host=host, name="default", active=True).first()
    if default is None or not services.lab_boot(host) or not may_use_network(user, default):
        return None
    return [{"type": "network", "source": "default"}]


def _sees_network(user, host, name):
    from networks.access import visible_networks

    return visible_networks(user).filter(host=host, name=name).exists()


def nic_warnings_view(request):
    """The warnings (validation.nic_warnings: macvtap blind spot, NAT isolation, a moved NIC
    keeping its old address) of the NIC a form is choosing, for the form to show while the user
    chooses (static/js/vms.js); the same words the Create / Apply answer and the API's 202 carry.
    ?host=PK&type=…&source=…, and vm=PK&mac=… on a NIC's own form. Reads the database only."""
    def number(name):
        value = request.GET.get(name, "")
        if not value.isdigit() or len(value) > 12:
            raise Http404(f"say which {name} (its id)")
        return int(value)

    host = get_object_or_404(visible_hosts(request.user), pk=number("host"))
    old, running = None, False
    if request.GET.get("vm"):
        vm = get_object_or_404(visible_vms(request.user), pk=number("vm"), host=host)
        old = vm.nics.filter(mac=normalize_mac(request.GET.get("mac", "")[:17])).first()
        running = vm.state == "running"
    nic = {"type": request.GET.get("type", "")[:16], "source": request.GET.get("source", "")[:64]}
    found = nic_warnings(host, nic, old=old, running=running) if nic["source"].strip() else []
    if nic["type"] == "network" and not _sees_network(request.user, host, nic["source"].strip()):
        found = []  # say nothing of a network the user may not see (not even its kind)
    return JsonResponse({"warnings": found})


def vm_create(request):
    hosts = visible_hosts(request.user)
    host_pk = request.GET.get("host") or request.POST.get("host")
    if not host_pk:
        return render(request, "vms/create.html", {"hosts": hosts, "host": None})
    host = get_object_or_404(hosts, pk=host_pk)
    form = VMCreateForm(request.POST or None, user=request.user,
                        initial=services.form_initial(host))
    formset = NICFormSet(request.POST or None, prefix="nics",
                         initial=_lab_nic(host, request.user))
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        spec = dict(form.cleaned_data)
        team = spec.pop("team", None)
        spec["nics"] = [f.cleaned_data for f in formset if f.cleaned_data and f.cleaned_data.get("source")]
        spec = {k: v for k, v in spec.items() if v not in ("", None)}
        try:
            op = services.request_create(request.user, host, spec, team=team)
            messages.info(request, f"Creating {spec['name']} on {host}: operation #{op.pk}.")
            for n, nic in enumerate(spec.get("nics") or []):
                for warning in nic_warnings(host, nic):
                    messages.warning(request, f"NIC {n + 1}: {warning}")
            return redirect(f"{_list_url()}?host={host.pk}&op={op.pk}")
        except services.Invalid as exc:
            nic_errors = exc.errors.pop("nics", [])
            add_errors(form, exc.errors)
            filled = [f for f in formset if f.cleaned_data and f.cleaned_data.get("source")]
            for sub, errors in zip(filled, nic_errors):
                add_errors(sub, errors)
    return render(request, "vms/create.html", {
        "hosts": hosts, "host": host, "form": form, "formset": formset,
        "sources": _sources(host, request.user), "pools": host.pools.all(),
        "lab_boot": services.lab_boot(host),
        "volumes": Volume.objects.filter(pool__host=host),
    })
