"""Versions of the objects kvmweb edits, one floor below the apps (issue 11: no silent
overwrite). An edit carries the version (a short hash of the object's definition) it was planned
against; while another edit of the object is queued or running, or once the object changed, it
is refused with 409: what changed since (a diff), the version to plan against now, and the
version seen. Apps say what their definition and their edits are (networks.versions,
vms.versions, hostnet.versions). Reads the database only.
"""

from .models import Operation

BUSY = (Operation.Status.QUEUED, Operation.Status.RUNNING)


def operations_on(host_id, target):
    return Operation.objects.filter(host_id=host_id, target=target)


def pending_edit(host_id, target, actions):
    """The newest of these edits of ``target`` still queued or running."""
    return (operations_on(host_id, target).filter(action__in=actions, status__in=BUSY)
            .order_by("-pk").first())


def known_text(version, candidates, version_of):
    """The first of ``candidates`` (texts) whose version is ``version``, or None."""
    return next((c for c in candidates if c and version_of(c) == version), None)


def recent_texts(host_id, target, params_key=None, count=50):
    """Definitions recent operations on ``target`` planned, found or left (newest first)."""
    texts = []
    for op in operations_on(host_id, target).order_by("-pk")[:count]:
        if params_key:
            texts.append((op.params or {}).get(params_key) or "")
        texts += [op.xml_before, op.xml_after]
    return texts


def refusal(name, now, seen, diff, pending):
    """The 409 body: detail, the version to plan against, the one seen, the diff since."""
    who = (f"{pending.user or 'someone'}'s edit (operation {pending.pk}, {pending.status})"
           if pending else "a change since")
    return {"detail": f"{name} changed since you planned this edit: {who}. Nothing was changed "
                      "or enqueued; review the difference and plan the edit again against "
                      f"version {now}" + (" once it has finished." if pending else "."),
            "version": now, "seen_version": seen, "diff": diff}
