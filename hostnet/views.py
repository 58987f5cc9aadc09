"""Pages: a host's interface tree with the actions, and per action a form -> plan preview ->
confirm. Views read the database and create Operations; they never talk to a host."""

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from kvmweb.virt.hostconfig import describe

from . import plans, services, tree
from .access import can_change_host_network, require_change_host_network, visible_host_networks
from .forms import ChangeForm


@login_required
def host_network(request, host_pk):
    host = get_object_or_404(visible_host_networks(request.user), pk=host_pk)
    rows = list(tree.flatten(tree.build(host)))
    ops = host.operations.filter(action__startswith="hostnet.")[:10]
    return render(request, "hostnet/host.html", {
        "host": host, "rows": rows, "actions": plans.ACTIONS, "ops": ops,
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
                op = services.start(request.user, host, action, form.params())
            return redirect(op.get_absolute_url())
        return render(request, "hostnet/preview.html", {
            "host": host, "form": form, "plan": form.plan, "title": plans.ACTIONS[action],
            "steps": [describe(s) for s in form.plan["steps"]], "action": action})
    return render(request, "hostnet/form.html", {"host": host, "form": form, "action": action,
                                                 "title": plans.ACTIONS[action]})
