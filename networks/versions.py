"""Which version of a network an edit was planned against, and what changed since (part of
issue 11: no silent overwrite).

A version is a short hash of the definition (normalised by our XML model, so spelling does not
count). The current version is that of the last edit still queued or running for the network (what
the host will have next), else that of the read model; while such an edit is pending, every
other edit is refused (it would be planned on a read model about to change). An edit planned against any other version
is refused with 409, the diff of what changed since, and the version to re-plan against.
Reads the database only.
"""

import hashlib

from kvmweb.virt.xml import Network as NetworkXML
from kvmweb.virt.xml import XMLError
from operations.models import Operation

from .plan import diff

EDITS = ("network.update", "network.redefine")


def version_of(xml):
    try:
        text = NetworkXML.from_xml(xml).to_xml()
    except XMLError:
        text = xml
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _ops(network):
    return Operation.objects.filter(host_id=network.host_id, target=network.target)


def pending_edit(network):
    """The newest edit of this network still queued or running (its XML is what comes next)."""
    return (_ops(network).filter(action__in=EDITS, status__in=(Operation.Status.QUEUED,
                                                               Operation.Status.RUNNING))
            .order_by("-pk").first())


def current_xml(network):
    pending = pending_edit(network)
    return pending.params["xml"] if pending else network.xml


def current_version(network):
    return version_of(current_xml(network))


def _known_xml(network, version):
    """A definition of this network that had ``version`` (read model or recent operations)."""
    candidates = [network.xml]
    for op in _ops(network).order_by("-pk")[:50]:
        candidates += [(op.params or {}).get("xml") or "", op.xml_before, op.xml_after]
    return next((x for x in candidates if x and version_of(x) == version), None)


def conflict(network, seen_version=None):
    """None when an edit planned against ``seen_version`` (default: the read model's) may go
    ahead; otherwise the 409 body: detail, the current version, the one seen, the diff."""
    seen = seen_version or version_of(network.xml)
    current = current_xml(network)
    now = version_of(current)
    pending = pending_edit(network)
    # An edit is planned on the read model; while another edit is queued or running, the read
    # model is not what the host will have, so any edit planned now would be planned wrong.
    if seen == now and not pending:
        return None
    base = _known_xml(network, seen)
    who = (f"{pending.user or 'someone'}'s edit (operation {pending.pk}, {pending.status})"
           if pending else "a change since")
    return {"detail": f"{network.name} changed since you planned this edit: {who}. Nothing "
                      "was changed or enqueued; review the difference and plan the edit again "
                      f"against version {now}" + (" once it has finished." if pending else "."),
            "version": now, "seen_version": seen,
            "diff": diff(base, current) if base else ""}
