"""Host network changes, the request side: plan a change from the read model (host interfaces
stored by the last sync) and start it as an Operation. Nothing here talks to a host: the
handler that applies the change safely (arm the on-host rollback, apply, prove, disarm,
persist) is in hostnet.operations.
"""

from operations import services as ops

from . import plans, versions

LOCK_TARGET = "host-network"  # one network change per host at a time


def build_plan(host, action, params, force=False):
    """The plan from the read model (raises plans.PlanError), with what the host's VMs add to
    it (a running VM's tap moved: until the VM stops)."""
    plan = plans.build(action, dict(params), read_model(host), host.address, force=force)
    note = vm_tap_note(host, action, params)
    if note:
        plan["notes"].append(note)
    return plan


def start(user, host, action, params, force=False, version=None):
    """Validate against the read model and create the Operation (raises plans.PlanError).
    ``version``: the interfaces' version the change was planned against (hostnet.versions); a
    stale one is refused with 409 (kvmweb.conflicts.Conflict)."""
    versions.refuse_if_stale(host, version, LOCK_TARGET)
    plan = build_plan(host, action, params, force=force)
    return ops.start(user, host, f"hostnet.{action}", target=LOCK_TARGET,
                     params={**params, "force": bool(force), "preview": plan})


def read_model(host):
    return [{"name": i.name, "kind": i.kind, "mac": i.mac, "mtu": i.mtu, "master": i.master,
             "parent": i.parent, "up": i.up, "addresses": i.addresses, "stats": i.stats}
            for i in host.interfaces.all()]


def vm_tap_note(host, action, params):
    """The note a port move of a running VM's tap gets in its plan: it lasts until the VM
    stops, and kvmweb offers to make it persistent afterwards."""
    nic = vm_nic_on(host, params.get("port", "")) if action == "port_move" else None
    if nic is None:
        return ""
    return (f"{params['port']} is the tap of running VM {nic.domain.name} (NIC {nic.mac}): the "
            "move is made through libvirt on the running VM only and lasts until it stops; "
            "once done, kvmweb offers to make it persistent (the VM's config)")


def vm_nic_on(host, port):
    """The VM NIC whose tap is ``port`` on this host (from the read model), or None."""
    from vms.models import DomainInterface

    return (DomainInterface.objects.filter(domain__host=host, target=port,
                                           domain__state="running")
            .select_related("domain").first())
