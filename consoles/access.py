"""Who may open a VM's console: whoever may operate that VM (the VM app's rule, not ours),
and who sees which console session records."""

from kvmweb.access import SELF_OR_ADMIN, SIGNED_IN, TEAM_OPERATOR, Check, Refused, is_admin, signed_in
from vms.access import can_operate_vm, require_change_vm

from .models import ConsoleSession


def can_open_console(user, vm):
    return signed_in(user) and can_operate_vm(user, vm)


def console_refusal(user, vm):
    """Why ``user`` may not open ``vm``'s consoles, in words (None: they may)."""
    if can_open_console(user, vm):
        return None
    try:
        require_change_vm(user, vm)
    except Refused as exc:
        return f"a console needs the right to operate the VM: {exc}"
    return "a console needs the right to operate the VM"


def visible_sessions(user):
    """Administrators see every console session; others their own."""
    if not signed_in(user):
        return ConsoleSession.objects.none()
    if is_admin(user):
        return ConsoleSession.objects.all()
    return ConsoleSession.objects.filter(user=user)


# Expected rules (kvmweb.access, tests/teams/test_matrix.py): the VM belongs to team blue; the
# session record is the operator's own (administrators see every session).
PERMISSIONS = {
    "consoles:console": Check(TEAM_OPERATOR, pk="{bluevm}", kind="serial"),
    "console-ticket": Check(TEAM_OPERATOR, "POST", {"vm": "{bluevm}", "kind": "serial"}),
    "api:console-session-list": {"GET": SIGNED_IN},
    "api:console-session-detail": {"GET": Check(SELF_OR_ADMIN, pk="{console_session}")},
}
