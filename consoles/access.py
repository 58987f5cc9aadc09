"""Who may open a VM's console: whoever may operate that VM (the VM app's rule, not ours),
and who sees which console session records."""

from vms import access as vm_access

from .models import ConsoleSession


def can_open_console(user, vm):
    if not (user and user.is_authenticated and user.is_active):
        return False
    # The teams rules name it can_operate_vm; before them, changing the VM is the right.
    rule = getattr(vm_access, "can_operate_vm", vm_access.can_change_vm)
    return bool(rule(user, vm))


def visible_sessions(user):
    """Administrators see every console session; others their own."""
    if not (user and user.is_authenticated):
        return ConsoleSession.objects.none()
    if user.is_staff:
        return ConsoleSession.objects.all()
    return ConsoleSession.objects.filter(user=user)
