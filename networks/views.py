"""Network pages. They read the database only; every change is an Operation."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from hosts.access import visible_hosts
from kvmweb.conflicts import refuse_edit
from operations.access import visible_operations
from vms.models import DomainInterface

from . import intake, services, versions
from .access import (can_change_network, require_change_network, require_read_firewall,
                     visible_networks)
from .api.views import nics_in_use
from .forms import NetworkForm, XMLForm, initial_from_spec
from .spec import from_xml


def _with_nic_counts(qs):
    nics = (DomainInterface.objects.filter(domain__host_id=OuterRef("host_id"), type="network",
                                           source=OuterRef("name"))
            .values("domain__host_id").annotate(n=Count("pk")).values("n"))
    return qs.annotate(nic_count=Coalesce(Subquery(nics, output_field=IntegerField()), 0),
                       lease_count=Count("leases"))


def network_list(request, host_pk=None):
    host = get_object_or_404(visible_hosts(request.user), pk=host_pk) if host_pk else None
    networks = _with_nic_counts(visible_networks(request.user).select_related("host", "owner"))
    ops = visible_operations(request.user).filter(action__startswith="network.")
    if host:
        networks, ops = networks.filter(host=host), ops.filter(host=host)
    return render(request, "networks/list.html", {
        "host": host, "networks": networks, "operations": ops.select_related("user", "host")[:15],
        "hosts": visible_hosts(request.user),
    })


def _start_create(request, host, team, xml, start_now=True, autostart=True):
    with transaction.atomic():
        op = services.request_create(request.user, host, xml, start_now=start_now,
                                     autostart=autostart, team=team)
    return redirect(reverse("networks:host_list", args=[host.pk]) + f"?op={op.pk}")


def network_add(request):
    # A link may pre-fill the form (reachability's "use a routed network" fix): nothing is
    # created until the user submits it.
    initial = {k: request.GET[k] for k in ("host", "kind", "name", "subnet") if request.GET.get(k)}
    form = NetworkForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        spec = form.to_spec()
        if form.is_valid():
            host = form.cleaned_data["host"]
            team, result = intake.create_for(request.user, host, form.cleaned_data.get("team"),
                                             spec=spec)
            if result.ok:
                for warning in result.warnings:
                    messages.warning(request, warning)
                return _start_create(request, host, team, result.xml,
                                     spec.get("start"), spec.get("autostart"))
            form.add_errors(result.errors)
    return render(request, "networks/form.html", {"form": form, "title": "New network"})


def network_import(request):
    form = XMLForm(request.POST or None, request.FILES or None, user=request.user, importing=True)
    if request.method == "POST" and form.is_valid():
        host = form.cleaned_data["host"]
        team, result = intake.create_for(request.user, host, form.cleaned_data.get("team"),
                                         xml=form.cleaned_data["xml"])
        if result.ok:
            return _start_create(request, host, team, result.xml)
        form.add_error("xml", result.errors.get("xml") or str(result.errors))
    return render(request, "networks/xml.html", {"form": form, "title": "Import a network"})


def _network(request, pk):
    return get_object_or_404(visible_networks(request.user).select_related("host"), pk=pk)


def _changeable(request, pk):
    network = _network(request, pk)
    require_change_network(request.user, network)
    return network


def _editable(request, pk):
    """A network the user may edit now: not while it has drifted (409 with the drift's link)."""
    network = _changeable(request, pk)
    refuse_edit(network.host_id, network.target)
    return network


def network_detail(request, pk):
    network = _network(request, pk)
    return render(request, "networks/detail.html", {
        "network": network, "leases": network.leases.all(),
        "nics": network.attached_nics(),
        "operations": visible_operations(request.user).filter(host=network.host,
                                                              target=network.target)
                                                      .select_related("user")[:30],
        "can_change": can_change_network(request.user, network),
    })


def network_xml_download(request, pk):
    network = _network(request, pk)
    response = HttpResponse(network.xml, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{network.name}.xml"'
    return response


def _preview_or_apply(request, network, result, confirmed):
    """Show the diff (and what a restart cuts off) first; apply only once confirmed."""
    edit = intake.edit_plan(network, result.xml)
    if not edit["changed"]:
        messages.info(request, "Nothing changed.")
        return redirect(network)
    intake.check_edit_for(request.user, network, result)
    # The preview carries the version it was planned against; a change since refuses the apply.
    stale = versions.conflict(network, request.POST.get("version") if confirmed else None)
    if not confirmed or stale:
        return render(request, "networks/preview.html", {
            "network": network, "edit": edit, "xml": result.xml, "warnings": result.warnings,
            "version": versions.version_of(network.xml), "stale": stale},
            status=409 if stale else 200)
    with transaction.atomic():
        services.start(request.user, network.host, edit["action"], network.name,
                       team=network.owner, xml=result.xml, base=network.xml)
    return redirect(network)


def network_edit(request, pk):
    network = _editable(request, pk)
    if request.method == "POST" and request.POST.get("confirmed_xml"):
        result = intake.edit_from_xml(network, request.POST["confirmed_xml"])
        if result.ok:
            return _preview_or_apply(request, network, result, confirmed=True)
        messages.error(request, "; ".join(m for ms in result.errors.values() for m in ms))
        return redirect(network)
    initial = initial_from_spec(from_xml(intake.parse_xml(network.xml)))
    form = NetworkForm(request.POST or None, user=request.user, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        spec = form.to_spec()
        if form.is_valid():
            result = intake.edit_from_spec(network, spec)
            if result.ok:
                return _preview_or_apply(request, network, result, confirmed=False)
            form.add_errors(result.errors)
    return render(request, "networks/form.html", {"form": form, "network": network,
                                                  "title": f"Edit {network.name}"})


def network_xml_edit(request, pk):
    network = _editable(request, pk)
    form = XMLForm(request.POST or None, initial={"xml": network.xml})
    if request.method == "POST" and form.is_valid():
        result = intake.edit_from_xml(network, form.cleaned_data["xml"])
        if result.ok:
            return _preview_or_apply(request, network, result, confirmed=False)
        form.add_error("xml", result.errors.get("xml") or str(result.errors))
    return render(request, "networks/xml.html", {"form": form, "network": network,
                                                 "title": f"XML of {network.name}"})


ACTIONS = {"start": ("network.start", {}), "stop": ("network.stop", {}),
           "autostart-on": ("network.autostart", {"on": True}),
           "autostart-off": ("network.autostart", {"on": False}),
           "delete": ("network.delete", {}), "firewall": ("network.firewall", {})}


@require_POST
def network_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404("no such action")
    if action == "firewall":
        network = _network(request, pk)
        require_read_firewall(request.user, network)  # Refused: the 403 page says why
    else:
        network = _changeable(request, pk)
    in_use = nics_in_use(network)
    if action in ("delete", "stop") and in_use and not request.POST.get("confirm"):
        return render(request, "networks/confirm.html", {
            "network": network, "action": action, "nics": in_use})
    name, params = ACTIONS[action]
    with transaction.atomic():
        services.start(request.user, network.host, name, network.name, team=network.owner, **params)
    if action == "delete":
        messages.info(request, f"Deleting {network.name} on {network.host}.")
        return redirect("networks:host_list", network.host_id)
    return redirect(network)
