"""Who may see operations (the audit trail of host changes): the only place.

Administrators see all. Others see the operations on hosts granted to their teams that were made
for one of their teams or for no team (syncs, administrators' changes to unowned objects); an
operation whose host was removed is for administrators only.
"""

from kvmweb import access as core
from kvmweb.access import SIGNED_IN, TEAM_MEMBER

from .models import Operation


def visible_operations(user):
    if not core.signed_in(user):
        return Operation.objects.none()
    return Operation.objects.filter(core.visible_q(user, owner_field="team"))


def can_view_operation(user, pk):
    return visible_operations(user).filter(pk=pk).exists()


# Expected rules (kvmweb.access, tests/teams/test_matrix.py): an operation made for team blue.
PERMISSIONS = {
    "operations:list": SIGNED_IN,
    "operations:detail": TEAM_MEMBER,
    "api:operation-list": {"GET": SIGNED_IN},
    "api:operation-detail": {"GET": TEAM_MEMBER},
    "ws:operation": TEAM_MEMBER,
}
