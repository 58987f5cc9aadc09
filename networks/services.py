"""Network changes: the functions that start them (in a request, inside its transaction) by
creating an Operation. Nothing here talks to a host: the handlers the Celery worker runs for
these Operations, and the firewall read of every sync, are in networks.operations.
"""

from kvmweb.virt.xml import Network as NetworkXML
from operations import services as ops


def start(user, host, action, name, team=None, guard=True, **params):
    return ops.start(user, host, action, target=f"network:{name}", params=params, team=team,
                     name=name, guard=guard)


def request_create(user, host, xml, start_now=True, autostart=True, persistent=True, team=None):
    """``team`` will own the network. The IPv4 subnet and its size ride along in the params so
    address pools and quotas count a network that is still queued."""
    from teams.quotas import subnet_addresses

    from .intake import subnet_of

    name, subnet = NetworkXML.from_xml(xml).name, subnet_of(xml)
    return start(user, host, "network.create", name, team=team, xml=xml, start=start_now,
                 autostart=autostart, persistent=persistent, subnet=subnet,
                 addresses=subnet_addresses(subnet))
