"""Quick re-reads of one libvirt object for the watcher: a domain or network event re-reads
that object's definition (not a whole sync), and a cheap periodic read of the host's network
definitions catches ``virsh net-update``, for which libvirt sends no event. What was read is
stored in the read model, pushed to pages, and announced (hosts.signals) so the drift app can
compare it with what kvmweb last applied. Runs on the watcher's threads with its connection.
"""

from django.db import close_old_connections
from django.utils import timezone

from kvmweb import definitions, events
from kvmweb.virt import domains, inventory
from kvmweb.virt import networks as virt_networks
from networks.models import Network
from vms.models import Domain

from . import services, signals


def _announce(host, targets, how):
    signals.definitions_were_read(host.pk, how, targets)  # drift first: pages then show it
    events.host_inventory(host)
    signals.announce(host.pk, "watcher")


def reread_network(host, conn, name, how):
    read_at = timezone.now()
    try:
        net = virt_networks.lookup(conn, name)
        if net is None:
            Network.objects.filter(host=host, name=name).delete()
        else:
            services.store_network(host, inventory.network_record(net), read_at)
        _announce(host, [f"network:{name}"], how)
    finally:
        close_old_connections()


def reread_domain(host, conn, name, how):
    read_at = timezone.now()
    try:
        dom = domains.lookup_name(conn, name)
        if dom is None:
            gone = Domain.objects.filter(host=host, name=name)
            targets = [f"domain:{uuid}" for uuid in gone.values_list("uuid", flat=True)]
            gone.delete()
        else:
            rec = inventory.domain_record(conn, dom)
            services.store_domain(host, rec, read_at)
            targets = [f"domain:{rec['uuid']}"]
            # A VM of this name with another UUID that the host no longer has was removed and
            # re-defined (its undefine event may be read after the define): its row goes, and
            # the drift app sees the pair (a re-creation, not a change).
            others = Domain.objects.filter(host=host, name=name).exclude(uuid=rec["uuid"])
            for uuid in list(others.values_list("uuid", flat=True)):
                if domains.lookup_uuid(conn, uuid) is None:
                    Domain.objects.filter(host=host, uuid=uuid).delete()
                    targets.append(f"domain:{uuid}")
        _announce(host, targets, how)
    finally:
        close_old_connections()


def changed_networks(host, read):
    """Names of networks whose definition on the host (``read``: {name: XML}) is not the read
    model's, and of those the host no longer has."""
    stored = dict(Network.objects.filter(host=host).values_list("name", "xml"))
    changed = [name for name, xml in read.items() if name not in stored
               or definitions.network_definition(xml) != definitions.network_definition(stored[name])]
    return changed + [name for name in stored if name not in read]


def poll_networks(host, conn):
    """Re-read the networks whose definition changed on the host since kvmweb last read it."""
    try:
        for name in changed_networks(host, inventory.network_xmls(conn)):
            reread_network(host, conn, name, "watcher: periodic network read")
    finally:
        close_old_connections()
