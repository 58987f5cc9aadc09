"""Asking a reachability question for a user: their view of the read model, the ends named
the ways people name them, links for the fixes, and the graph ids to highlight. Reads the
database only (the analysis itself is pure: reachability.analysis)."""

import re
from urllib.parse import urlencode

from django.db import transaction
from django.urls import NoReverseMatch, reverse

from operations import services as ops
from topology import graph
from topology.readmodel import ReadModel, load

from . import choices as C
from . import probes
from .access import may_probe, question_scope, require_probe, visible_probes
from .analysis import analyse, end_for
from .models import Probe
from .places import Index, address_ends, nic_end


class NotFound(Exception):
    """An end that does not exist, or that the user may not see (the same answer for both)."""


class Invalid(Exception):
    """A question kvmweb cannot prove with packets (nothing to send them from); says why."""


def user_model(user):
    """The read model of what ``user`` may see: hidden networks and VMs (and their NICs) are
    left out, so answers never name them."""
    hosts, hidden = question_scope(user)
    model = load(hosts)
    if not hidden:
        return model
    nets, vms = hidden
    gone_vms = {(v.host, v.uuid) for v in model.vms if v.pk in vms}
    return ReadModel(
        hosts=model.hosts, ifaces=model.ifaces, segments=model.segments,
        networks=[n for n in model.networks if n.pk not in nets],
        vms=[v for v in model.vms if (v.host, v.uuid) not in gone_vms],
        nics=[n for n in model.nics if (n.host, n.vm_uuid) not in gone_vms])


# -- what people read: an end as the question box shows it, and each hop of a path --------------

# A VM NIC as the box shows it (form_label), typed back or bookmarked: names one NIC.
NIC_LABEL = re.compile(r"^(?P<vm>.+) · NIC (?P<mac>[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}) "
                       r"on (?P<host>.+)$")


def _host_name(ix, pk):
    host = ix.hosts.get(pk)
    return host.name if host is not None else f"host {pk}"


def form_label(ix, end):
    """The text the question box shows for an end after an answer: "web1 · NIC 52:54:…:81 on
    kvm1", a host's name, or the address asked about. resolve() reads it back as the same end
    (graph ids stay out of the box)."""
    if end.kind == "nic" and end.vm is not None and end.nic is not None:
        return f"{end.vm.name} · NIC {end.nic.mac} on {_host_name(ix, end.host)}"
    if end.kind == "host" and not end.address:
        return _host_name(ix, end.host)
    return end.ip or end.label


def hop_label(ix, hop):
    """A graph id of a path as people name the thing: "web1 NIC 52:54:…", "vnet3 on kvm1",
    "virbr0 (default on kvm1)", "network default on kvm1", "LAN 10.0.0.0/24", "kvm2". An id
    the read model no longer knows stays as it is."""
    kind, _, rest = hop.partition(":")
    try:
        if kind == "nic":
            host, uuid, mac = rest.split(":", 2)
            vm = ix.vms.get((int(host), uuid))
            return f"{vm.name if vm else 'a VM'} NIC {mac}"
        if kind == "vm":
            host, uuid = rest.split(":", 1)
            vm = ix.vms.get((int(host), uuid))
            return f"VM {vm.name}" if vm else hop
        if kind == "if":
            host, name = rest.split(":", 1)
            net = ix.net_on_bridge.get((int(host), name))
            where = _host_name(ix, int(host))
            return f"{name} ({net.name} on {where})" if net else f"{name} on {where}"
        if kind == "net":
            host, name = rest.split(":", 1)
            return f"network {name} on {_host_name(ix, int(host))}"
        if kind == "host":
            return _host_name(ix, int(rest))
    except ValueError:
        return hop
    if kind == "lan":
        return f"LAN {rest.removeprefix('name:')}"
    if kind == "ip":
        return rest
    return hop


def label_answer(ix, answer, a, b):
    """Labels beside the graph ids of an answer: each end's ``form_label``, the ``path`` as
    [{id, label}] and each cause's ``hop_label`` (the ids stay for the topology page)."""
    answer["source"]["form_label"] = form_label(ix, a)
    answer["destination"]["form_label"] = form_label(ix, b)
    answer["path"] = [{"id": h, "label": hop_label(ix, h)} for h in answer["hops"]]
    for cause in answer["causes"] + answer["warnings"]:
        cause["hop_label"] = hop_label(ix, cause["hop"]) if cause.get("hop") else ""
    return answer


def _by_form_label(ix, text):
    """The NIC a form_label names, or None when ``text`` is not one."""
    match = NIC_LABEL.match(text)
    if match is None:
        return None
    mac = match["mac"].lower()
    for nic in ix.model.nics:
        vm = ix.vms.get((nic.host, nic.vm_uuid))
        if (nic.mac == mac and vm is not None and vm.name == match["vm"]
                and _host_name(ix, nic.host) == match["host"]):
            return nic_end(ix, nic.host, nic.vm_uuid, nic.mac)
    return None


def resolve(ix, text="", vm_pk=None):
    """An end from what a person typed: a graph id (nic:…, vm:…, host:…), an IPv4 address, a
    NIC as the box shows it (form_label), a VM name (``name@host`` when several hosts have
    one), a host name; or a VM by database pk."""
    if vm_pk not in (None, ""):
        vm = next((v for v in ix.model.vms if str(v.pk) == str(vm_pk)), None)
        nics = sorted(ix.nics_of_vm.get((vm.host, vm.uuid), []), key=lambda n: n.mac) if vm else []
        if vm is None:
            raise NotFound("no such VM")
        if not nics:
            raise NotFound(f"VM {vm.name} has no NIC")
        return nic_end(ix, vm.host, vm.uuid, nics[0].mac)
    text = (text or "").strip()
    if not text:
        raise NotFound("say what to reach: a VM, a host or an IPv4 address")
    end = end_for(ix, text) or _by_form_label(ix, text)
    if end is not None:
        return end
    name, _, host_name = text.partition("@")
    hosts = {h.pk: h.name for h in ix.model.hosts}
    vms = [v for v in ix.model.vms if v.name == name
           and (not host_name or hosts.get(v.host) == host_name)]
    if len(vms) > 1:
        raise NotFound(f"several VMs are called {name}: say which, e.g. {name}@{hosts[vms[0].host]}")
    if vms:
        nics = sorted(ix.nics_of_vm.get((vms[0].host, vms[0].uuid), []), key=lambda n: n.mac)
        if not nics:
            raise NotFound(f"VM {name} has no NIC")
        return nic_end(ix, vms[0].host, vms[0].uuid, nics[0].mac)
    host = next((pk for pk, n in hosts.items() if n == text), None)
    if host is not None:
        return end_for(ix, f"host:{host}")
    raise NotFound(f"nothing called {text!r} that you may see: give a VM, a host or an IPv4 "
                   "address on one of the hosts' LANs")


def _url(name, *args, query=None):
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    query = {k: v for k, v in (query or {}).items() if v not in (None, "")}
    return url + ("?" + urlencode(query) if query else "")


def _plan(fix):
    """The URL of the form that applies ``fix``, pre-filled (a plan: nothing changes until the
    user confirms it), or of the page where it is done; "" when there is none."""
    t, kind = fix["target"], fix["kind"]
    host, vm, mac, net = t.get("host"), t.get("vm"), t.get("mac"), t.get("network")
    if kind == C.FIX_BRIDGE_OVER_UPLINK and host is not None:
        return _url("hostnet:change", host, "bridge_create",
                    query={"name": t.get("bridge"), "uplink": t.get("iface")})
    if kind == C.FIX_MOVE_NIC and vm is not None and mac:
        return _url("vms:nic_edit", vm, mac, query={"type": "bridge", "source": t.get("bridge")})
    if kind == C.FIX_NIC_LINK_UP and vm is not None and mac:
        return _url("vms:nic_edit", vm, mac, query={"link_state": "up"})
    if kind == C.FIX_MACVTAP_BRIDGE and vm is not None and mac:
        return _url("vms:nic_edit", vm, mac, query={"type": "direct", "source": t.get("iface"),
                                                    "mode": "bridge"})
    if kind == C.FIX_SECOND_NIC and vm is not None:
        return _url("vms:detail", vm, query={"nic_type": "network",
                                             "nic_source": t.get("network_name")}) + "#add-nic"
    if kind == C.FIX_SECOND_NIC and net is not None:
        return _url("networks:edit", net)
    if kind == C.FIX_ROUTED_NETWORK and host is not None:
        return _url("networks:add", query={"host": host, "kind": "route"})
    if kind == C.FIX_LINK_UP and host is not None:
        return _url("hostnet:change", host, "link_state", query={"name": t.get("iface"),
                                                                 "up": "up"})
    if kind == C.FIX_MTU and host is not None and t.get("iface"):
        return _url("hostnet:change", host, "mtu", query={"name": t["iface"], "mtu": t.get("mtu")})
    if kind in (C.FIX_START_NETWORK, C.FIX_ADD_ROUTE, C.FIX_FIREWALL) and net is not None:
        return _url("networks:detail", net)
    if kind == C.FIX_RENUMBER and net is not None:
        return _url("networks:edit", net)
    if kind == C.FIX_START_VM and vm is not None:
        return _url("vms:detail", vm)
    if kind in (C.FIX_IP_FORWARD, C.FIX_SYNC) and host is not None:
        return _url("hosts:detail", host)
    return ""


PLANS = (C.FIX_BRIDGE_OVER_UPLINK, C.FIX_MOVE_NIC, C.FIX_NIC_LINK_UP, C.FIX_MACVTAP_BRIDGE,
         C.FIX_SECOND_NIC, C.FIX_ROUTED_NETWORK, C.FIX_LINK_UP, C.FIX_MTU, C.FIX_RENUMBER)


def link_fix(fix):
    """``href``: where the fix is applied; ``applies``: "plan" (a pre-filled form to check and
    confirm), "page" (the page with the button, e.g. Start) or "shown" (a command for
    something kvmweb does not manage, in ``detail``)."""
    fix["href"] = _plan(fix)
    fix["applies"] = ("shown" if fix["kind"] in C.SHOWN else
                      "plan" if fix["kind"] in PLANS and fix["href"] else "page")
    return fix


def _of_hosts(model, hosts):
    return ReadModel(**{kind: [r for r in getattr(model, kind)
                               if (r.pk if kind == "hosts" else r.host) in hosts]
                        for kind in ("hosts", "ifaces", "networks", "vms", "nics", "segments")})


def elements(model, hops):
    """Graph ids (nodes and the edges between them) along the hops, for the topology page to
    highlight: each pair of consecutive hops joined by graph.path. Only the hosts on the path
    are drawn for this (the whole graph of a big site takes ~0.3 s to build)."""
    hosts = {int(h.split(":")[1]) for h in hops if h.split(":")[0] in ("host", "if", "net", "nic")}
    g = graph.build(_of_hosts(model, hosts))
    hops = [h for h in hops if h in g.nodes]  # a bridge that is gone is skipped, not a gap
    out = hops[:1]
    for x, y in zip(hops, hops[1:]):
        for element in graph.path(g, x, y) or [y]:
            if element not in out:
                out.append(element)
    return out


def _question(user, source, destination, source_vm, destination_vm):
    model = user_model(user)
    ix = Index(model)
    a, b = resolve(ix, source, source_vm), resolve(ix, destination, destination_vm)
    address_ends(ix, a, b)  # a host by name: the address the other end uses (probes ping it)
    return model, ix, a, b


def ask(user, source="", destination="", source_vm=None, destination_vm=None):
    """The answer (reachability.analysis.analyse) to the user's question, with fix links, the
    graph elements of the path and the user's latest probes of it. Raises NotFound for an end
    the user may not see."""
    model, ix, a, b = _question(user, source, destination, source_vm, destination_vm)
    answer = label_answer(ix, analyse(ix, a, b), a, b)
    for cause in answer["causes"] + answer["warnings"]:
        for fix in cause["fixes"]:
            link_fix(fix)
    answer["elements"] = elements(model, answer["hops"])
    answer["probes"] = list(visible_probes(user).filter(source=a.id, destination=b.id)
                            .select_related("operation", "user")[:3])
    for row in answer["probes"]:
        row.agreement, row.disagreements = probes.compare_parts(row)
        row.pending = [p["title"] for p in row.planned[len(row.results):]]
    answer["can_probe"] = bool(probes.plan(ix, a, b))
    answer["may_probe"] = answer["can_probe"] and may_probe(user, a)
    return answer


def start_probe(user, source="", destination="", source_vm=None, destination_vm=None):
    """Prove the question with packets: the Probe row (with the analysis' verdict of now) and
    the Operation that sends them (reachability.operations.probe). Refused unless the user may
    change the source (access.require_probe); Invalid when there is nothing to probe from."""
    model, ix, a, b = _question(user, source, destination, source_vm, destination_vm)
    require_probe(user, a)
    planned = probes.plan(ix, a, b)
    if not planned:
        raise Invalid(f"kvmweb cannot send probes for {a.label} → {b.label}: it pings from a "
                      "host end, from inside a running VM (guest agent) and arpings a guest on "
                      "its host's bridge, and none of these applies (no address known?)")
    answer = analyse(ix, a, b)
    from hosts.models import Host
    from vms.models import Domain

    host = Host.objects.get(pk=planned[0]["host"])
    team = (Domain.objects.select_related("owner").get(pk=a.vm.pk).owner
            if a.vm is not None else None)
    with transaction.atomic():
        probe = Probe.objects.create(
            user=user, source=a.id, destination=b.id, source_label=a.label,
            destination_label=b.label, verdict=answer["verdict"], forward=answer["forward"],
            backward=answer["backward"], causes=[c["code"] for c in answer["causes"]],
            planned=planned)
        probe.operation = ops.start(user, host, "reachability.probe", target=f"probe:{probe.pk}",
                                    params={"probe": probe.pk}, team=team,
                                    name=f"{a.label} → {b.label}")
        probe.save(update_fields=["operation"])
    return probe
