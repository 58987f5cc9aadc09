"""Who may ask which reachability question: the only place (on topology.access, which is built
on the hosts, networks and VMs rules).

A user asks about what they may see: both ends must be in their own view of the topology (the
hosts they may see, without the networks and VMs hidden from them), and the analysis runs on
that view only, so an answer never names an object they could not open. An outside address
is anyone's to ask about (it is only a number on a LAN segment they see).
"""

from django.core.exceptions import PermissionDenied

from kvmweb.access import (SELF_OR_ADMIN, SIGNED_IN, TEAM_MEMBER, TEAM_OPERATOR, Check,
                           is_admin, require)
from topology.access import hidden_objects, topology_hosts


def question_scope(user):
    """(host pks, (hidden network pks, hidden VM pks) or None) of what ``user`` asks about."""
    hosts = topology_hosts(user)
    return hosts, hidden_objects(user, hosts)


def require_probe(user, source):
    """Active probes send packets from the source's side: only who may change the source
    object does that (a VM: administrators and operators of its team; a host or an outside
    address: administrators). ``source``: a places.End."""
    if source.kind == "nic" and source.vm is not None:
        from vms.access import require_change_vm
        from vms.models import Domain

        require_change_vm(user, Domain.objects.get(pk=source.vm.pk))
        return
    require(is_admin(user), f"only administrators send probes from {source.label}: probes "
                            "run on the host, as root")


def may_probe(user, source):
    try:
        require_probe(user, source)
    except PermissionDenied:
        return False
    return True


def visible_probes(user):
    """Stored probes a user sees: their own (administrators: all)."""
    from .models import Probe

    return Probe.objects.all() if is_admin(user) else Probe.objects.filter(user=user)


# Expected rules (kvmweb.access, tests/teams/test_matrix.py): bluevm belongs to team blue.
_ASK = {"source_vm": "{bluevm}", "destination": "10.0.0.1"}
PERMISSIONS = {
    "reachability:ask": [Check(SIGNED_IN), Check(TEAM_MEMBER, data=_ASK)],
    "reachability-api": Check(TEAM_MEMBER, data=_ASK),  # an APIView: rules like a page
    "reachability:probe": Check(TEAM_OPERATOR, "POST", data=_ASK),
    "api:reachability-probe-list": {"GET": SIGNED_IN, "POST": Check(TEAM_OPERATOR, data=_ASK)},
    "api:reachability-probe-detail": {"GET": Check(SELF_OR_ADMIN, pk="{probe}")},
}
