"""Host facts for validation, from the database read model (never from a live host)."""

from hosts.models import HostInterface

from .models import Network
from .validation import HostFacts


def load(host, exclude_network=None):
    """What the last sync stored about ``host``; ``exclude_network`` is the one being edited."""
    nets = Network.objects.filter(host=host)
    if exclude_network is not None:
        nets = nets.exclude(pk=exclude_network.pk)
    networks = [{"name": n.name, "bridge": n.bridge, "subnets": n.subnets} for n in nets]
    interfaces = {
        i.name: {"kind": i.kind, "addresses": i.addresses, "master": i.master,
                 "routes": (i.stats or {}).get("routes", [])}
        for i in HostInterface.objects.filter(host=host)
    }
    elsewhere = [
        {"host": n.host.name, "name": n.name, "subnets": n.subnets}
        for n in Network.objects.exclude(host=host).select_related("host") if n.subnets
    ]
    return HostFacts(host_name=host.name, networks=networks, interfaces=interfaces,
                     elsewhere=elsewhere)
