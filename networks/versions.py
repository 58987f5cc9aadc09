"""Which version of a network an edit was planned against, and what changed since (part of
issue 11: no silent overwrite; the shared rules are operations.versions).

A version is a short hash of the definition (kvmweb.definitions: normalised by our XML model, so
spelling does not count, and without ``connections``: guests plugging in is not a change). The
current version is that of the last edit still queued or running for the network (what the host
will have next), else that of the read model; while such an edit is pending, every other edit is
refused (it would be planned on a read model about to change). An edit planned against any other
version is refused with 409, the diff of what changed since, and the version to re-plan against.
Reads the database only.
"""

from kvmweb import definitions
from operations import versions as shared

from .plan import diff

EDITS = ("network.update", "network.redefine")


def version_of(xml):
    return definitions.version("network", xml)


def pending_edit(network):
    """The newest edit of this network still queued or running (its XML is what comes next)."""
    return shared.pending_edit(network.host_id, network.target, EDITS)


def current_xml(network, pending=None):
    pending = pending or pending_edit(network)
    return pending.params["xml"] if pending else network.xml


def current_version(network):
    return version_of(current_xml(network))


def conflict(network, seen_version=None):
    """None when an edit planned against ``seen_version`` (default: the read model's) may go
    ahead; otherwise the 409 body: detail, the current version, the one seen, the diff."""
    seen = seen_version or version_of(network.xml)
    pending = pending_edit(network)
    current = current_xml(network, pending)
    now = version_of(current)
    # An edit is planned on the read model; while another edit is queued or running, the read
    # model is not what the host will have, so any edit planned now would be planned wrong.
    if seen == now and not pending:
        return None
    base = shared.known_text(seen, [network.xml, *shared.recent_texts(
        network.host_id, network.target, "xml")], version_of)
    return shared.refusal(network.name, now, seen, diff(base, current) if base else "", pending)
