"""Refusals with 409 Conflict, one floor below the apps.

``Conflict(body)``: the request cannot go ahead as it stands (the object changed since it was
planned, or it drifted and nobody has decided yet). The API answers 409 with ``body``
(kvmweb.access.api_exception_handler); pages answer 409 with the message and the link
(kvmweb.middleware.ConflictPage). Raised before any Operation is created: nothing changes.

``EDIT_GUARDS``: functions ``guard(host_pk, target) -> body or None`` that apps above register
(the drift app refuses edits of a drifted object); ``refuse_edit`` asks them all. Every start of
an operation that overwrites an object's definition goes through it (operations.services.start).
"""

EDIT_GUARDS = []


class Conflict(Exception):
    status_code = 409

    def __init__(self, body):
        super().__init__(body.get("detail", "conflict"))
        self.body = body


def edit_refusal(host_pk, target):
    """The first guard's refusal (a 409 body) for an edit of ``target`` on that host, or None."""
    if not target:
        return None
    for guard in EDIT_GUARDS:
        body = guard(host_pk, target)
        if body:
            return body
    return None


def refuse_edit(host_pk, target):
    body = edit_refusal(host_pk, target)
    if body:
        raise Conflict(body)
