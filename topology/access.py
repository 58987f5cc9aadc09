"""Who may see which part of the topology: the only place, built on the hosts, networks and
VMs access rules (called, never re-implemented).

A user sees the picture of the hosts they may see (hosts.access): the host, its interfaces and
the LAN segments. Of the networks and VMs on those hosts, only those networks.access and
vms.access let them see (another team's VMs on a shared host stay invisible); NICs go with their
VM. Administrators see everything, so they alone get deltas pushed as they are (see
``pushes_deltas``); everyone else is told a host changed and fetches their own view again.
"""

from hosts.access import can_view_host, visible_hosts
from kvmweb.access import HOST_MEMBER, SIGNED_IN, TEAM_MEMBER, Check, is_admin
from networks.access import visible_networks
from vms.access import visible_vms


def topology_hosts(user):
    """Primary keys of the hosts whose part of the graph the user may see."""
    return list(visible_hosts(user).values_list("pk", flat=True))


def can_view_host_part(user, host_pk):
    return can_view_host(user, host_pk)


def hidden_rows(user, host_ids):
    """([(network pk, host pk)], [(VM pk, host pk)]) on these hosts that the user may not see;
    None when they see all. The hosts named there are those whose published parts (which show
    everything) may not be served to this user as they are."""
    if is_admin(user):
        return None
    from networks.models import Network
    from vms.models import Domain

    nets = Network.objects.filter(host_id__in=host_ids).exclude(
        pk__in=visible_networks(user).values("pk")).values_list("pk", "host_id")
    vms = Domain.objects.filter(host_id__in=host_ids).exclude(
        pk__in=visible_vms(user).values("pk")).values_list("pk", "host_id")
    return list(nets), list(vms)


def hidden_pks(rows):
    """(network pks, VM pks) of ``hidden_rows``; None when nothing is hidden from the user."""
    return None if rows is None else ({pk for pk, _ in rows[0]}, {pk for pk, _ in rows[1]})


def hidden_objects(user, host_ids):
    """(network pks, VM pks) on these hosts that the user may not see; None when they see all."""
    return hidden_pks(hidden_rows(user, host_ids))


def pushes_deltas(user):
    """Whether ``topology.delta`` events may reach this user whole (they carry every element of
    the host); others get only the versions and fetch their view from the API."""
    return is_admin(user)


def focus_for(user, host=None, network=None, vm=None):
    """The Focus a request names (at most one of host, network, vm: primary keys), for this
    user; Http404 for what they may not see (as for any object they may not see)."""
    from django.http import Http404

    from .graph import ALL, Focus

    if host is not None:
        if not can_view_host(user, host):
            raise Http404("no such host, or you may not see it")
        return Focus("host", host)
    if network is not None:
        net = visible_networks(user).filter(pk=network).first()
        if net is None:
            raise Http404("no such network, or you may not see it")
        return Focus("network", net.host_id, net.name)
    if vm is not None:
        dom = visible_vms(user).filter(pk=vm).first()
        if dom is None:
            raise Http404("no such VM, or you may not see it")
        return Focus("vm", dom.host_id, dom.uuid)
    return ALL


# Expected rules (kvmweb.access, tests/teams/test_matrix.py): bluenet and bluevm belong to team
# blue on a host granted to teams blue and red.
PERMISSIONS = {
    "topology:page": [Check(SIGNED_IN), Check(HOST_MEMBER, data={"host": "{host}"}),
                      Check(TEAM_MEMBER, data={"network": "{bluenet}"}),
                      Check(TEAM_MEMBER, data={"vm": "{bluevm}"})],
    "api:topology-list": {"GET": Check(HOST_MEMBER, data={"host": "{host}"})},
    # Members who do not see every VM get 409 (fetch your view again): allowed, not refused.
    "api:topology-deltas": {"GET": Check(HOST_MEMBER, data={"host": "{host}", "since": 0})},
    # Nodes outside the user's view answer like unknown ones: an empty path.
    "api:topology-path": {"GET": Check(SIGNED_IN, data={"a": "host:0", "b": "host:0"})},
}
