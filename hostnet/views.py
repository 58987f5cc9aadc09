"""Pages: a host's interface tree with the actions, and per action a form -> plan preview ->
confirm. Views read the database and create Operations; they never talk to a host."""

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from kvmweb.virt.hostconfig import describe

from . import plans, services, tree, versions
from .access import can_change_host_network, require_change_host_network, visible_host_networks
from .forms import ChangeForm


@login_required
def index(request):
    """Every visible host with its interfaces by kind: the way into each host's networking."""
    from django.db.models import Count, Q

    hosts = visible_host_networks(request.user).annotate(
        interface_count=Count("interfaces"),
        bridge_count=Count("interfaces", filter=Q(interfaces__kind="bridge")),
        down_count=Count("interfaces", filter=Q(interfaces__up=False)))
    return render(request, "hostnet/index.html", {"hosts": hosts})


@login_required
def host_network(request, host_pk):
    host = get_object_or_404(visible_host_networks(request.user), pk=host_pk)
    rows = list(tree.flatten(tree.build(host, request.user)))
    ops = host.operations.filter(action__startswith="hostnet.")[:10]
    names = [n["name"] for n in rows]
    uplinks = [n["name"] for n in rows if n["kind"] in ("physical", "veth", "bond") and not n["depth"]]
    wanted = request.GET.get("iface", "")
    graph_iface = wanted if wanted in names else (uplinks or names or [""])[0]
    return render(request, "hostnet/host.html", {
        "host": host, "rows": rows, "actions": plans.ACTIONS, "ops": ops,
        "graph_iface": graph_iface,
        "can_manage": can_change_host_network(request.user)})


@login_required
def change(request, host_pk, action):
    if action not in plans.ACTIONS:
        raise Http404("no such host network action")
    host = get_object_or_404(visible_host_networks(request.user), pk=host_pk)
    require_change_host_network(request.user)
    initial = {k: v for k, v in request.GET.items()}
    form = ChangeForm(host, action, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if request.POST.get("confirm") == "yes":
            with transaction.atomic():
                op = services.start(request.user, host, action, form.params(),
                                    version=request.POST.get("version"))
            return redirect(op.get_absolute_url())
        return render(request, "hostnet/preview.html", {
            "host": host, "form": form, "plan": form.plan, "title": plans.ACTIONS[action],
            "version": versions.current_version(host),
            "steps": [describe(s) for s in form.plan["steps"]], "action": action})
    return render(request, "hostnet/form.html", {"host": host, "form": form, "action": action,
                                                 "title": plans.ACTIONS[action]})
