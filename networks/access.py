"""Who may see, create and change virtual networks. One place, so teams can narrow it later."""

from hosts.access import visible_hosts
from operations.models import Operation

from .models import Network


def visible_networks(user):
    return Network.objects.filter(host__in=visible_hosts(user))


def can_create_network(user, host):
    """Any signed-in user may create networks on a host they can see (for now)."""
    return bool(user and user.is_authenticated and visible_hosts(user).filter(pk=host.pk).exists())


def can_change_network(user, network):
    """Editing, stopping, deleting: staff, or whoever created the network through kvmweb."""
    if not (user and user.is_authenticated):
        return False
    if user.is_staff:
        return True
    return Operation.objects.filter(host_id=network.host_id, action="network.create",
                                    target=network.target, user=user).exists()
