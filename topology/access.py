"""Who may see which part of the topology. Built on the hosts, networks and VMs access rules
(called, never re-implemented): a user sees the graph of the hosts they may see."""

from hosts.access import can_view_host, visible_hosts
from networks.access import visible_networks
from vms.access import visible_vms


def topology_hosts(user):
    """Primary keys of the hosts whose part of the graph the user may see."""
    return list(visible_hosts(user).values_list("pk", flat=True))


def can_view_host_part(user, host_pk):
    return can_view_host(user, host_pk)


def find_network(user, pk):
    """The network (if the user may see it) a network focus names, else None."""
    return visible_networks(user).filter(pk=pk).first()


def find_vm(user, pk):
    return visible_vms(user).filter(pk=pk).first()
