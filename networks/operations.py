"""Network changes on hosts: the Operation handlers the Celery worker runs (started by
networks.services), and the firewall read that is part of every host sync.

Each handler records xml_before / xml_after, refreshes this network's read model (and the
firewall rules libvirt installed for it), and leaves the host as it was when a step fails.
"""

import uuid

from django.utils import timezone

from hosts.services import configure_virt, store_network
from hosts.tasks import request_background_sync
from kvmweb import events
from kvmweb.virt import firewall as virt_firewall
from kvmweb.virt import networks as virt
from kvmweb.virt.errors import VirtError
from kvmweb.virt.xml import Network as NetworkXML
from operations import services as ops
from operations.models import Operation

from . import choices
from .models import Network
from .plan import plan


# -- read model ---------------------------------------------------------------------------

def refresh(op, conn, name):
    """Re-read one network after a change; read its firewall rules; ask for a full sync."""
    host = op.host
    lv = virt.lookup(conn, name)
    if lv is None:
        Network.objects.filter(host=host, name=name).delete()
    else:
        net = store_network(host, virt.record(lv))
        read_firewall(op, net)
    events.host_inventory(host)
    request_background_sync(host.pk)  # host interfaces (a new bridge) and VM NICs


def read_firewall(op, net):
    """Store the nft rules that name this network's bridge or subnets (read-only)."""
    if net.kind not in choices.MANAGED:
        Network.objects.filter(pk=net.pk).update(firewall=[], firewall_error="",
                                                 firewall_read=timezone.now())
        return
    ops.report(op, "reading the firewall rules libvirt installed (nft -j list ruleset)")
    try:
        ruleset = virt_firewall.read_ruleset(op.host.target())
    except VirtError as exc:
        Network.objects.filter(pk=net.pk).update(firewall_error=str(exc))
        ops.report(op, f"could not read the firewall rules: {exc}")
        return
    rules = _store_rules(net, ruleset)
    ops.report(op, f"{len(rules)} firewall rules name {net.bridge or net.name}")


def _store_rules(net, ruleset):
    rules = virt_firewall.rules_for(ruleset, net.bridge, net.subnets)
    Network.objects.filter(pk=net.pk).update(firewall=rules, firewall_error="",
                                             firewall_read=timezone.now())
    return rules


def read_firewalls(host):
    """Part of every host sync (hosts.operations.SYNC_EXTENSIONS): the rules of every network
    libvirt installs rules for, from one ``nft -j list ruleset`` — so a network started behind
    kvmweb's back (or after a restart) never shows "(0)" until someone clicks "Read again"."""
    nets = [n for n in host.networks.all() if n.kind in choices.MANAGED]
    if not nets:
        return
    try:
        ruleset = virt_firewall.read_ruleset(host.target())
    except VirtError as exc:
        Network.objects.filter(pk__in=[n.pk for n in nets]).update(firewall_error=str(exc))
        raise
    for net in nets:
        _store_rules(net, ruleset)


# -- handlers -------------------------------------------------------------------------------

def _conn(op):
    configure_virt()
    return virt.connect(op.host.target())


def _name(op):
    return op.target.split(":", 1)[1]


def _rolled_back(op, message):
    """Finish the operation as rolled back: the host is as it was; say why."""
    ops.report(op, f"rolled back: {message}", status=Operation.Status.ROLLED_BACK,
               error=message, finished=timezone.now())


def _own_uuid(op):
    """The UUID this operation gives its new network, fixed (and saved) before anything is made,
    so a resumed run can tell the network it defined from someone else's of the same name."""
    if not op.params.get("uuid"):
        doc = NetworkXML.from_xml(op.params["xml"])
        doc.uuid = doc.uuid or str(uuid.uuid4())
        ops.report(op, None, params={**op.params, "xml": doc.to_xml(), "uuid": doc.uuid})
    return op.params["uuid"]


@ops.handler("network.create", resumable=True, plumbing=True,
             cleanup=lambda op: _remove_own_network(op))
def create_operation(op):
    """Define, autostart, start. Each step looks at the host first, so a run resumed after its
    worker died carries on where the host is."""
    conn, name, params = _conn(op), _name(op), op.params
    net = virt.lookup(conn, name)
    if net is not None and (op.attempts <= 1 or not params.get("made")
                            or virt.uuid_of(net) != params.get("uuid")):
        raise VirtError(f"{op.host} already has a network named {name!r}", VirtError.INVALID,
                        retryable=False)
    own = _own_uuid(op)
    ops.report(op, None, params={**op.params, "made": True})  # from here on, it may exist
    if not params.get("persistent", True):
        if net is None:
            ops.report(op, f"creating transient network {name}", progress=30)
            net = virt.create_transient(conn, op.params["xml"])
    else:
        if net is None:
            ops.report(op, f"defining network {name} (uuid {own})", progress=20)
            net = virt.define(conn, op.params["xml"])
        else:
            ops.report(op, f"{name} is already defined (by this operation's first attempt)")
        ops.checkpoint(op, "defined")
        try:
            if params.get("autostart") and not virt.is_autostart(net):
                ops.report(op, "autostart on", progress=40)
                virt.set_autostart(net, True)
            if params.get("start") and not virt.is_active(net):
                ops.report(op, "starting (bridge, dnsmasq, firewall rules)", progress=50)
                virt.start(net)
        except VirtError as exc:
            if exc.retryable:
                raise  # the host may answer again: resumed (or cleaned up) by operations
            virt.undefine(net)
            refresh(op, conn, name)
            _rolled_back(op, f"libvirt could not start {name}: {exc}. The definition was "
                             "removed again; the host is as it was.")
            return
    ops.report(op, "created; reading it back", progress=80, xml_after=virt.xml_desc(net))
    refresh(op, conn, name)
    if op.team_id:
        Network.objects.filter(host=op.host, name=name).update(owner_id=op.team_id)


def _remove_own_network(op):
    """Clean-up after a failed create: remove the network only if it is the one this operation
    made (same name and the UUID it gave it)."""
    if not op.params.get("made"):
        return ""
    conn, name = _conn(op), _name(op)
    net = virt.lookup(conn, name)
    if net is None or virt.uuid_of(net) != op.params.get("uuid"):
        return ""
    if virt.is_active(net):
        virt.stop(net)
    if virt.lookup(conn, name) is not None and virt.is_persistent(net):
        virt.undefine(net)
    refresh(op, conn, name)
    return f"The half-made network {name} was removed; the host is as it was."


@ops.handler("network.start", plumbing=True)
def start_operation(op):
    conn, name = _conn(op), _name(op)
    net = virt.require(conn, name)
    ops.report(op, f"starting {name}", progress=30, xml_before=virt.xml_desc(net))
    virt.start(net)
    ops.report(op, "started", progress=70, xml_after=virt.xml_desc(net))
    refresh(op, conn, name)


@ops.handler("network.stop", plumbing=True)
def stop_operation(op):
    conn, name = _conn(op), _name(op)
    net = virt.require(conn, name)
    ops.report(op, f"stopping {name}", progress=30, xml_before=virt.xml_desc(net))
    virt.stop(net)
    if virt.lookup(conn, name) is not None:
        ops.report(op, "stopped", progress=70, xml_after=virt.xml_desc(net))
    refresh(op, conn, name)


@ops.handler("network.autostart", plumbing=True)
def autostart_operation(op):
    conn, name, on = _conn(op), _name(op), bool(op.params.get("on"))
    net = virt.require(conn, name)
    ops.report(op, f"autostart {'on' if on else 'off'}", progress=40)
    virt.set_autostart(net, on)
    refresh(op, conn, name)


@ops.handler("network.delete", plumbing=True, edits=True)
def delete_operation(op):
    conn, name = _conn(op), _name(op)
    net = virt.require(conn, name)
    ops.report(op, f"deleting {name}", progress=20, xml_before=virt.xml_desc(net, inactive=True))
    persistent = virt.is_persistent(net)
    if virt.is_active(net):
        ops.report(op, "stopping", progress=40)
        virt.stop(net)
    if persistent:
        ops.report(op, "undefining", progress=70)
        virt.undefine(net)
    refresh(op, conn, name)


@ops.handler("network.update", plumbing=True, edits=True)
def update_operation(op):
    """Live + persistent changes through virNetworkUpdate; undone step by step on failure."""
    conn, name = _conn(op), _name(op)
    net = virt.require(conn, name)
    before = virt.xml_desc(net)
    ops.report(op, "planning", progress=10, xml_before=before)
    # Apply only what the user changed, planned against the definition the user saw (params
    # "base"): another user's static hosts, DNS records or portgroups added meanwhile are not
    # in that plan, so they can never become delete steps.
    base = op.params.get("base") or before
    moved = plan(before, base)["restart_reasons"]
    p = plan(base, op.params["xml"])
    if moved or p["restart_reasons"]:
        raise VirtError("the network changed on the host since the edit was reviewed ("
                        + "; ".join(moved or p["restart_reasons"]) + "); review it again",
                        VirtError.INVALID, retryable=False)
    done = []
    for i, (command, section, index, fragment) in enumerate(p["live_steps"], 1):
        ops.report(op, f"{command} {section}", progress=10 + 70 * i // len(p["live_steps"]))
        try:
            virt.update(net, command, section, index, fragment)
        except VirtError as exc:
            _undo_updates(net, done)
            refresh(op, conn, name)
            _rolled_back(op, f"libvirt refused to {command} {section}: {exc}. "
                             f"{len(done)} earlier change(s) were undone.")
            return
        done.append((command, section, index, fragment))
    ops.report(op, "applied live and persistent", progress=85, xml_after=virt.xml_desc(net))
    refresh(op, conn, name)


def _undo_updates(net, done):
    for command, section, index, fragment in reversed(done):
        virt.update(net, "add" if command == "delete" else "delete", section, index, fragment)


@ops.handler("network.redefine", resumable=True, plumbing=True, edits=True)
def redefine_operation(op):
    """Replace the definition and restart the network; the old one comes back on failure.

    The first run saves how the network was (definition, persistent, active) on the operation
    before touching it; a resumed run reads that instead of the half-changed host."""
    conn, name, xml = _conn(op), _name(op), op.params["xml"]
    was = op.params.get("was")
    if was is None:
        net = virt.require(conn, name)
        _refuse_if_changed_since_planned(op, virt.xml_desc(net))
        persistent, active = virt.is_persistent(net), virt.is_active(net)
        was = {"persistent": persistent, "active": active,
               "xml": virt.xml_desc(net, inactive=persistent)}
        ops.report(op, f"replacing the definition of {name}", progress=20, xml_before=was["xml"],
                   params={**op.params, "was": was})
    persistent, active, before = was["persistent"], was["active"], was["xml"]
    try:
        _replace(conn, name, xml, persistent, active, op)
    except VirtError as exc:
        if exc.retryable:
            raise  # the host may answer again: the run is resumed from what was saved
        ops.report(op, f"failed: {exc}; restoring the previous definition")
        _restore(conn, name, before, persistent, active)
        refresh(op, conn, name)
        _rolled_back(op, f"libvirt refused the new definition: {exc}. The previous definition "
                         "was restored" + (" and the network restarted." if active else "."))
        return
    ops.report(op, "done; reading it back", progress=85,
               xml_after=virt.xml_desc(virt.require(conn, name)))
    refresh(op, conn, name)


def _refuse_if_changed_since_planned(op, live):
    """A redefinition replaces everything: refuse it when the host's definition is no longer
    the one the edit was planned against (a concurrent edit, or a change made with virsh)."""
    base = op.params.get("base")
    if not base:
        return
    changed = plan(base, live)["diff"]  # without connections: guests plugging in is no change
    if changed:
        raise VirtError("the network changed on the host since the edit was planned; nothing "
                        "was changed. Review the difference and edit again:\n" + changed,
                        VirtError.INVALID, retryable=False)


def _replace(conn, name, xml, persistent, active, op):
    """Define, then restart once: a ``stopped`` mark saved after the stop tells a resumed run
    that the running network it finds was already restarted with the new definition."""
    net = virt.lookup(conn, name)
    if persistent:
        net = virt.define(conn, xml)  # the same definition again is harmless
    ops.checkpoint(op, "defined")
    if not active:
        return
    if net is not None and virt.is_active(net) and not op.params.get("stopped"):
        ops.report(op, "restarting: attached guests lose connectivity until it is up", progress=50)
        virt.stop(net)
        ops.report(op, None, params={**op.params, "stopped": True})
        ops.checkpoint(op, "stopped")
    net = virt.lookup(conn, name)
    if net is None or not virt.is_active(net):
        if persistent:
            virt.start(net)
        else:
            virt.create_transient(conn, xml)


def _restore(conn, name, before, persistent, active):
    """Put the saved definition back (and the network running again, if it ran)."""
    net = virt.lookup(conn, name)
    if persistent:
        net = virt.define(conn, before)
    if active and (net is None or not virt.is_active(net)):
        if persistent:
            virt.start(net)
        else:
            virt.create_transient(conn, before)


@ops.handler("network.firewall", resumable=True, retry=False)
def firewall_operation(op):
    net = Network.objects.get(host=op.host, name=_name(op))
    read_firewall(op, net)
