"""Which version of a VM an edit (NIC add, remove or change; delete) was planned against, and
what changed since (issue 11: no silent overwrite; the shared rules are operations.versions).

A VM's version is a short hash of its networking definition (kvmweb.definitions: name, UUID
and NICs without what libvirt fills in at run time), so starting or stopping it is no change.
An edit that carries a version is refused with 409 when the VM's version is no longer that one,
or while another edit of the VM is queued or running; the body has the diff since, and the
version to plan against. Reads the database only.
"""

from kvmweb import definitions
from kvmweb.conflicts import Conflict
from operations import versions as shared

EDITS = ("nic.add", "nic.remove", "nic.update", "vm.delete", "drift.reapply")


def target(vm):
    return f"domain:{vm.uuid}"


def version_of(xml):
    return definitions.version("domain", xml)


def current_version(vm):
    return version_of(vm.xml)


def conflict(vm, seen_version):
    """None when an edit planned against ``seen_version`` may go ahead (or carries none)."""
    if not seen_version:
        return None
    now = current_version(vm)
    pending = shared.pending_edit(vm.host_id, target(vm), EDITS)
    if seen_version == now and not pending:
        return None
    base = shared.known_text(seen_version, [vm.xml, *shared.recent_texts(vm.host_id, target(vm))],
                             version_of)
    diff = definitions.unified_diff(definitions.definition("domain", base),
                                    definitions.definition("domain", vm.xml)) if base else ""
    body = shared.refusal(vm.name, now, seen_version, diff, pending)
    body["replan_page"] = vm.get_absolute_url()
    return body


def refuse_if_stale(vm, seen_version):
    body = conflict(vm, seen_version)
    if body:
        raise Conflict(body)
