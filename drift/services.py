"""Drift: a change made on a host outside kvmweb, noticed, shown, and decided by a person.

For every network and VM kvmweb keeps a baseline: the definition (kvmweb.definitions,
normalised) it last applied, read for the first time, or accepted. Whenever definitions are read
from a host (a sync, or the watcher re-reading one object after an event or its periodic network
read: hosts.signals.definitions_read) each one is compared with its baseline:

- the same: nothing to say (an open drift that the host came back from is closed);
- an operation of kvmweb on that object is queued or running: not compared now (its own result
  is on the way; it moves the baseline when it finishes, ``on_operation_saved``);
- the object has another UUID than the baseline's (a network under the same name, or a VM
  of the same name whose old UUID is gone): the old object was removed and a new one made
  outside kvmweb (``virsh net-undefine`` + ``net-define``, a lab restart). Identity is the
  UUID, so this is no change to the old object: it is recorded as a re-creation (an audit
  entry and a log line), the old object's open drift closes as gone, and the new definition
  becomes the baseline (nobody changed the old one through kvmweb: its operations are
  compared after they end, as above);
- otherwise the difference was made outside kvmweb: recorded as drift (what, who could tell,
  when, the unified diff), shown on the object's page and in the drift list, and every edit of
  the object is refused (kvmweb.conflicts) until someone accepts the host's version or
  re-applies kvmweb's. Nothing here talks to a host; the re-apply is an Operation.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from lxml import etree
from django.urls import reverse
from django.utils import timezone

from kvmweb.definitions import definition, unified_diff, version_of
from kvmweb.virt.xml import XMLError, safe_parse
from networks.models import Network
from operations.models import Operation
from operations.versions import BUSY
from vms.models import Domain

from . import choices
from .models import Baseline, Drift

log = logging.getLogger(__name__)


@dataclass
class Seen:
    """One object's definition as the read model has it after a read from the host."""

    target: str
    kind: str
    name: str
    xml: str

    @property
    def text(self):
        return definition(self.kind, self.xml)


def kind_of(target):
    return choices.NETWORK if target.startswith("network:") else choices.DOMAIN


def tracked(target):
    return target.startswith("network:") or target.startswith("domain:")


def read_model(host_pk, targets=None):
    """{target: Seen} of the host's networks and VMs (only ``targets`` when given)."""
    nets = Network.objects.filter(host_id=host_pk)
    doms = Domain.objects.filter(host_id=host_pk)
    if targets is not None:
        nets = nets.filter(name__in=[t[8:] for t in targets if t.startswith("network:")])
        doms = doms.filter(uuid__in=[t[7:] for t in targets if t.startswith("domain:")])
    found = {}
    for name, xml in nets.values_list("name", "xml"):
        found[f"network:{name}"] = Seen(f"network:{name}", choices.NETWORK, name, xml)
    for uuid, name, xml in doms.values_list("uuid", "name", "xml"):
        found[f"domain:{uuid}"] = Seen(f"domain:{uuid}", choices.DOMAIN, name, xml)
    return found


def open_drift(host_pk, target):
    return Drift.objects.filter(host_id=host_pk, target=target, status=choices.OPEN).first()


def _set_baseline(host_pk, target, text, source, now=None):
    Baseline.objects.update_or_create(
        host_id=host_pk, target=target,
        defaults={"kind": kind_of(target), "xml": text, "version": version_of(text),
                  "source": source[:200], "updated": now or timezone.now()})


def _close(host_pk, target, status, now):
    Drift.objects.filter(host_id=host_pk, target=target, status=choices.OPEN).update(
        status=status, last_seen=now)


# -- comparing -----------------------------------------------------------------------------

def compare(host_pk, how, targets=None):
    """Compare what was just read (``targets``; None: everything of the host, a sync) with the
    baselines; record, update or close drift. Returns the open drifts touched."""
    now = timezone.now()
    seen = read_model(host_pk, targets)
    wanted = list(seen) if targets is None else [t for t in targets if tracked(t)]
    baselines = {b.target: b for b in Baseline.objects.filter(host_id=host_pk, target__in=wanted)}
    busy = set(Operation.objects.filter(host_id=host_pk, target__in=wanted, status__in=BUSY)
               .values_list("target", flat=True))
    # A host network change may move a VM's tap through libvirt (hostnet port move): its VMs
    # are left alone until it ends (its xml_after then moves that VM's baseline).
    if Operation.objects.filter(host_id=host_pk, action__startswith="hostnet.",
                                status__in=BUSY).exists():
        busy |= {t for t in seen if t.startswith("domain:")}
    drifts = []
    with transaction.atomic():
        for target, obj in seen.items():
            if target in busy:
                continue
            baseline = baselines.get(target)
            if baseline is None:
                baseline = _predecessor(host_pk, obj)
                if baseline is not None and Operation.objects.filter(
                        host_id=host_pk, target=baseline.target, status__in=BUSY).exists():
                    continue  # kvmweb is changing the old VM: compared once that ends
            drift = _check(host_pk, obj, baseline, how, now)
            if drift is not None:
                drifts.append(drift)
        gone = Baseline.objects.filter(host_id=host_pk).exclude(target__in=list(seen))
        if targets is not None:
            gone = gone.filter(target__in=[t for t in wanted if t not in busy])
        else:
            gone = gone.exclude(target__in=busy)
        for target in list(gone.values_list("target", flat=True)):
            _close(host_pk, target, choices.GONE, now)
        gone.delete()
    return drifts


def _check(host_pk, obj, baseline, how, now):
    text = obj.text
    version = version_of(text)
    if baseline is None:
        _set_baseline(host_pk, obj.target, text, f"first read ({how})", now)
        return None
    old_uuid, new_uuid = uuid_in(baseline.xml), uuid_in(text)
    if old_uuid and new_uuid and old_uuid != new_uuid:
        _recreated(host_pk, obj, baseline, old_uuid, new_uuid, how, now)
        return None
    current = open_drift(host_pk, obj.target)
    if version == baseline.version:
        if current is not None:
            back = current.operation is not None and current.operation.is_finished
            _close(host_pk, obj.target, choices.REAPPLIED if back else choices.GONE, now)
        return None
    if current is None and _finishing_own_unplug(host_pk, obj.target, baseline, text):
        _set_baseline(host_pk, obj.target, text, f"NIC unplug finished ({how})", now)
        return None
    diff = unified_diff(baseline.xml, text, "kvmweb", "host")
    if current is None:
        drift = Drift.objects.create(
            host_id=host_pk, target=obj.target, kind=obj.kind, name=obj.name, noticed_by=how[:200],
            noticed=now, last_seen=now, baseline_xml=baseline.xml,
            baseline_version=baseline.version, host_xml=text, host_version=version, diff=diff)
        log.warning("drift of %s on host %s noticed by %s", obj.target, host_pk, how)
        return drift
    if current.host_version != version or current.baseline_version != baseline.version:
        Drift.objects.filter(pk=current.pk).update(
            host_xml=text, host_version=version, diff=diff, baseline_xml=baseline.xml,
            baseline_version=baseline.version, last_seen=now, name=obj.name)
    else:
        Drift.objects.filter(pk=current.pk).update(last_seen=now)
    return current


def uuid_in(text):
    """The <uuid> of a definition (kvmweb.definitions: networks and VMs both have one), or ""."""
    try:
        return (safe_parse(text).findtext("uuid") or "").strip().lower()
    except XMLError:
        return ""


def _predecessor(host_pk, obj):
    """The baseline of the VM a VM without one replaced: the same name, another UUID, and no
    longer in the read model (libvirt's names are unique on a host). A network's target is its
    name, so its predecessor is its own baseline."""
    if obj.kind != choices.DOMAIN:
        return None
    rows = Baseline.objects.filter(host_id=host_pk, kind=choices.DOMAIN).exclude(target=obj.target)
    present = {f"domain:{u}" for u in Domain.objects.filter(host_id=host_pk)
               .values_list("uuid", flat=True)}
    for row in rows:
        if row.target not in present and _name_in(row.xml) == obj.name:
            return row
    return None


def _name_in(text):
    try:
        return (safe_parse(text).findtext("name") or "").strip()
    except XMLError:
        return ""


def _recreated(host_pk, obj, baseline, old_uuid, new_uuid, how, now):
    """The object under ``obj``'s name is a new one (another UUID): the old one was removed
    outside kvmweb. Its open drift goes with it, the new definition is the new object's
    baseline, and the re-creation is told (audit log, worker log) instead of shown as drift."""
    from hosts.models import Host
    from teams.services import record

    _close(host_pk, baseline.target, choices.GONE, now)
    if baseline.target != obj.target:
        Baseline.objects.filter(pk=baseline.pk).delete()
    _set_baseline(host_pk, obj.target, obj.text,
                  f"re-created outside kvmweb, new UUID {new_uuid} ({how})", now)
    host = Host.objects.filter(pk=host_pk).values_list("name", flat=True).first() or host_pk
    what = "network" if obj.kind == choices.NETWORK else "VM"
    # A network's row stays its name's (hosts.services.store_network), with its team: the
    # team sees the entry in its audit log.
    team = (Network.objects.filter(host_id=host_pk, name=obj.name).select_related("owner")
            .first() if obj.kind == choices.NETWORK else None)
    record(None, f"{obj.kind}.recreated", team=team.owner if team else None, target=obj.target,
           host_name=str(host),
           before={"uuid": old_uuid},
           after={"uuid": new_uuid, "noticed_by": how,
                  "summary": f"{what} {obj.name} on {host} was re-created outside kvmweb "
                             f"(new UUID {new_uuid}, was {old_uuid}): a new object, adopted "
                             "as it is"})
    log.warning("%s %s on host %s was re-created outside kvmweb (new UUID %s, was %s); "
                "adopted, noticed by %s", what, obj.name, host, new_uuid, old_uuid, how)


def _finishing_own_unplug(host_pk, target, baseline, text):
    """A guest may release a NIC kvmweb asked it to (nic.remove) only later, after that
    operation ended: the host's version is then kvmweb's version without that NIC."""
    if not target.startswith("domain:"):
        return False
    removals = Operation.objects.filter(host_id=host_pk, target=target, action="nic.remove",
                                        status=Operation.Status.SUCCEEDED,
                                        finished__gte=baseline.updated)
    for mac in removals.values_list("params__mac", flat=True):
        if mac and without_nic(baseline.xml, mac) == text:
            return True
    return False


def without_nic(text, mac):
    """A VM's definition (kvmweb.definitions) without the NIC of that MAC."""
    root = safe_parse(text)
    for iface in root.findall("devices/interface"):
        found = iface.find("mac")
        if found is not None and (found.get("address") or "").lower() == mac.lower():
            iface.getparent().remove(iface)
    return definition(choices.DOMAIN, etree.tostring(root, encoding="unicode"))


def on_definitions_read(sender, host_pk, how, targets=None, **kwargs):
    """hosts.signals.definitions_read: compare what was read (DB only, quick)."""
    compare(host_pk, how, targets)


def on_operation_saved(sender, instance, **kwargs):
    """An operation of kvmweb on a network or VM finished with the definition it left on the
    host (``xml_after``): that is what kvmweb last applied, the new baseline. Not while the
    object has an open drift, unless this operation is that drift's re-apply: starting or
    stopping a drifted network never adopts the drift silently."""
    op = instance
    if not (op.host_id and op.xml_after and op.is_finished):
        return
    target = op.target if tracked(op.target) else target_of(op.xml_after)
    if not target:
        return
    current = open_drift(op.host_id, target)
    if current is not None and current.operation_id != op.pk:
        return
    text = definition(kind_of(target), op.xml_after)
    baseline = Baseline.objects.filter(host_id=op.host_id, target=target).first()
    if baseline is not None and (baseline.version == version_of(text)
                                 or baseline.source == f"operation {op.pk}"):
        return
    _set_baseline(op.host_id, target, text, f"operation {op.pk}")


def target_of(xml):
    """network:<name> or domain:<uuid> of a libvirt definition an operation left (a host
    network change records the VM whose tap it moved), or ""."""
    try:
        root = safe_parse(xml)
    except XMLError:
        return ""
    if root.tag == "domain" and root.findtext("uuid"):
        return f"domain:{root.findtext('uuid').strip()}"
    if root.tag == "network" and root.findtext("name"):
        return f"network:{root.findtext('name').strip()}"
    return ""


# -- the refusal ---------------------------------------------------------------------------

def edit_refusal(host_pk, target):
    """kvmweb.conflicts guard: an edit of a drifted object waits for the decision."""
    drift = open_drift(host_pk, target) if tracked(target) else None
    if drift is None:
        return None
    page = reverse("drift:detail", args=[drift.pk])
    return {"detail": f"{drift.name} on {drift.host} was changed outside kvmweb (noticed "
                      f"{drift.noticed:%Y-%m-%d %H:%M:%S} by {drift.noticed_by}); kvmweb does "
                      "not overwrite that without a decision. Nothing was changed or enqueued: "
                      "accept the host's version or re-apply kvmweb's first, then edit again.",
            "drift": reverse("api:drift-detail", args=[drift.pk]), "drift_page": page}


# -- deciding --------------------------------------------------------------------------------

class Undecidable(Exception):
    """The drift cannot be decided that way now; ``str(exc)`` says why (409)."""


def _require_open(drift):
    if not drift.is_open:
        raise Undecidable(f"this drift is {drift.get_status_display()} already")
    if drift.reapplying:
        raise Undecidable(f"kvmweb's version is being re-applied (operation "
                          f"{drift.operation_id}); wait for it to finish")


@transaction.atomic
def accept(user, drift):
    """Adopt the host's version (as the drift shows it) as kvmweb's: edits may go ahead."""
    from teams.services import record

    drift = Drift.objects.select_for_update().get(pk=drift.pk)
    _require_open(drift)
    now = timezone.now()
    _set_baseline(drift.host_id, drift.target, drift.host_xml, f"accepted by {user}", now)
    drift.status, drift.decided_by, drift.decided = choices.ACCEPTED, user, now
    drift.save(update_fields=["status", "decided_by", "decided"])
    record(user, "drift.accept", target=drift.target, host_name=drift.host.name,
           before={"version": drift.baseline_version}, after={"version": drift.host_version})
    # The host may have moved on since the drift was shown: that is a drift of its own.
    compare(drift.host_id, f"accepted by {user}", [drift.target])
    return drift


@transaction.atomic
def start_reapply(user, drift, confirm=False):
    """Put kvmweb's version back on the host: an Operation through the usual paths (a network's
    live update or redefinition; a VM's NICs attached, detached or updated)."""
    from networks import intake
    from networks import services as network_services
    from operations import services as ops

    from .access import drifted_object

    drift = Drift.objects.select_for_update().get(pk=drift.pk)
    _require_open(drift)
    obj = drifted_object(drift)
    if obj is None:
        raise Undecidable(f"{drift.name} is gone from the host: nothing to re-apply")
    pending = Operation.objects.filter(host_id=drift.host_id, target=drift.target,
                                       status__in=BUSY).first()
    if pending is not None:
        raise Undecidable(f"operation {pending.pk} ({pending.action}) is {pending.status} on "
                          f"{drift.name}; wait for it to finish")
    if drift.kind == choices.NETWORK:
        edit = intake.edit_plan(obj, drift.baseline_xml)
        if not edit["changed"]:
            raise Undecidable("the host already has kvmweb's version")
        if edit["restart_required"] and not confirm:
            raise Undecidable("re-applying restarts the network (" + "; ".join(
                edit["restart_reasons"]) + "): guests on it lose connectivity meanwhile; "
                "confirm to go ahead")
        op = network_services.start(user, obj.host, edit["action"], obj.name, team=obj.owner,
                                    guard=False, xml=drift.baseline_xml, base=obj.xml,
                                    drift=drift.pk)
    else:
        op = ops.start(user, obj.host, "drift.reapply", target=drift.target, team=obj.owner,
                       guard=False, params={"uuid": obj.uuid, "name": obj.name,
                                            "xml": drift.baseline_xml, "drift": drift.pk})
    drift.operation, drift.decided_by, drift.decided = op, user, timezone.now()
    drift.save(update_fields=["operation", "decided_by", "decided"])
    return op
