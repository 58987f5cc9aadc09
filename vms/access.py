"""Who may see, create, operate and change VMs and their NICs: the only place (on
kvmweb.access and networks.access).

- Administrators (staff): everything.
- Members see the VMs on their teams' granted hosts that are unowned or owned by their teams.
- Operators create VMs for their team on a granted host (within quota) and start, stop, change
  and delete the VMs their team owns. Unowned VMs (found by a sync) are for administrators.
- NICs: type network on a network the team may use (networks.access.may_use_network); type
  bridge on a host bridge the team's grant names; macvtap (type direct) on a host device is
  for administrators.
- Boot files (kernel, initrd, ISO) must be volumes in the host's storage pools, and an existing
  volume must not be another VM's disk: the host's other files (the app's SSH key, /etc/shadow)
  are not for guests to read.
"""

import posixpath

from kvmweb import access as core
from kvmweb.access import (HOST_MEMBER, HOST_OPERATOR, SIGNED_IN, TEAM_MEMBER, TEAM_OPERATOR,
                           Check, Refused, is_admin)
from networks.access import may_use_network
from networks.models import Network

from .models import Domain, Volume


def visible_vms(user):
    return Domain.objects.filter(core.visible_q(user))


def can_change_vm(user, vm):
    """Start, stop, force off, change NICs, delete (and open its console): administrators, or
    operators of the owning team on a host granted to that team."""
    return core.may_change_owned(user, vm)


# Operating a VM (power, console) needs the same as changing it.
can_operate_vm = can_change_vm


def require_change_vm(user, vm):
    core.require_change_owned(user, vm, f"VM {vm.name}")


def can_create_on(user, host):
    return is_admin(user) or core.operator_teams_on(user, host.pk).exists()


def nic_refusal(user, host, nic):
    """Why this user may not put a NIC like ``nic`` (a spec dict) on ``host`` (None: fine)."""
    if is_admin(user):
        return None
    kind, source = nic.get("type") or "network", (nic.get("source") or "").strip()
    if kind == "network":
        network = Network.objects.filter(host=host, name=source).first()
        if network is not None and not may_use_network(user, network):
            return (f"your team may not attach NICs to network '{source}' on {host}: use one of "
                    "your team's networks or ask an administrator to share this one")
        return None
    if kind == "bridge":
        if not core.may_use_shared(user, host.pk, "bridges", source):
            return (f"your team may not attach NICs to host bridge '{source}' on {host}: ask an "
                    "administrator to name it in your team's grant")
        return None
    return (f"only administrators attach {kind} NICs (macvtap on a host device such as "
            f"'{source}' reaches the host's physical network directly)")


def require_nic(user, host, nic):
    problem = nic_refusal(user, host, nic)
    if problem:
        raise Refused(problem)


def _in_pool(host, path):
    """Whether ``path`` is a volume of one of this host's storage pools (no '..' games)."""
    if not path or posixpath.normpath(path) != path:
        return False
    return Volume.objects.filter(pool__host=host, path=path).exists()


def volume_users(host, path):
    """Names of VMs on ``host`` whose definition uses ``path`` as a disk (CD-ROM images such as
    an installer ISO may be shared)."""
    from .services import disk_paths

    return [d.name for d in Domain.objects.filter(host=host)
            if any(p == path and not cdrom for p, cdrom in disk_paths(d.xml))]


def spec_refusal(user, host, spec):
    """Why this user may not create a VM like ``spec`` on ``host`` (None: fine)."""
    if is_admin(user):
        return None
    for key in ("kernel", "initrd", "iso"):
        path = spec.get(key) or ""
        if path and not _in_pool(host, path):
            return (f"{key} {path!r} is not a volume in one of {host}'s storage pools: only "
                    "administrators boot VMs from other files on the host")
    if spec.get("disk") == "existing":
        users = volume_users(host, spec.get("volume") or "")
        if users:
            return (f"volume {spec.get('volume')} is a disk of {', '.join(users)}: only "
                    "administrators attach another VM's volume")
    for nic in spec.get("nics") or []:
        problem = nic_refusal(user, host, nic)
        if problem:
            return problem
    return None


def require_spec(user, host, spec):
    problem = spec_refusal(user, host, spec)
    if problem:
        raise Refused(problem)


# Expected rules per URL (kvmweb.access, tests/teams/test_matrix.py). The VM in the test
# (bluevm, running, NIC 52:54:00:00:00:01 on network bluenet) belongs to team blue.
_MAC = "52:54:00:00:00:01"
_NEW = {"name": "matrixvm", "memory_mib": 64, "vcpus": 1, "disk": "none", "boot": "cdrom",
        "iso": "/var/lib/libvirt/images/installer.iso", "domain_type": "auto"}
_NEW_FORM = {**_NEW, "host": "{host}", "nics-TOTAL_FORMS": 0, "nics-INITIAL_FORMS": 0,
             "nics-MIN_NUM_FORMS": 0, "nics-MAX_NUM_FORMS": 1000}
_NIC = {"type": "network", "source": "bluenet", "model": "virtio"}
PERMISSIONS = {
    "vms:list": SIGNED_IN,
    "vms:create": [Check(SIGNED_IN), Check(HOST_OPERATOR, "POST", _NEW_FORM)],
    "vms:detail": TEAM_MEMBER,
    # what a NIC form warns of while choosing (reads the database): who sees the host
    "vms:nic_warnings": Check(HOST_MEMBER, data={"host": "{host}", "type": "direct",
                                                 "source": "eth0"}),
    "vms:delete": Check(TEAM_OPERATOR, "POST"),
    "vms:nic_add": Check(TEAM_OPERATOR, "POST", _NIC),
    "vms:nic_edit": [Check(TEAM_MEMBER, mac=_MAC),
                     Check(TEAM_OPERATOR, "POST", {**_NIC, "mac": _MAC, "link_state": "down"},
                           mac=_MAC)],
    "vms:nic_remove": Check(TEAM_OPERATOR, "POST", mac=_MAC),
    "vms:nic_bounce": Check(TEAM_OPERATOR, "POST", mac=_MAC),
    "vms:nic_persist": Check(TEAM_OPERATOR, "POST", mac=_MAC),
    "vms:action": [Check(TEAM_OPERATOR, "POST", action=a) for a in
                   ("start", "shutdown", "reboot", "destroy", "suspend", "resume")],
    "api:vm-list": {"GET": SIGNED_IN, "POST": Check(HOST_OPERATOR, data={**_NEW, "host": "{host}"})},
    "api:vm-pools": {"GET": SIGNED_IN},
    "api:vm-refresh": {"POST": Check(HOST_OPERATOR, data={"host": "{host}"})},
    "api:vm-detail": {"GET": TEAM_MEMBER, "DELETE": TEAM_OPERATOR},
    "api:vm-force-off": {"POST": TEAM_OPERATOR},
    "api:vm-reboot": {"POST": TEAM_OPERATOR},
    "api:vm-resume": {"POST": TEAM_OPERATOR},
    "api:vm-shutdown": {"POST": TEAM_OPERATOR},
    "api:vm-start": {"POST": TEAM_OPERATOR},
    "api:vm-suspend": {"POST": TEAM_OPERATOR},
    "api:vm-nics": {"GET": TEAM_MEMBER, "POST": Check(TEAM_OPERATOR, data=_NIC)},
    "api:vm-nic": {"GET": Check(TEAM_MEMBER, mac=_MAC),
                   "PATCH": Check(TEAM_OPERATOR, data={"link_state": "down"}, mac=_MAC),
                   "DELETE": Check(TEAM_OPERATOR, mac=_MAC)},
    "api:vm-nic-bounce": {"POST": Check(TEAM_OPERATOR, mac=_MAC)},
    "api:vm-nic-persist": {"POST": Check(TEAM_OPERATOR, mac=_MAC)},
}
