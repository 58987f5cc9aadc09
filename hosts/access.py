"""Who may see and change hosts. One place, so teams can narrow it later."""

from .models import Host


def visible_hosts(user):
    if not user or not user.is_authenticated:
        return Host.objects.none()
    return Host.objects.all()


def can_view_host(user, host_pk):
    return visible_hosts(user).filter(pk=host_pk).exists()


def can_manage_hosts(user):
    """Adding, pinning, editing and removing hosts is for administrators."""
    return bool(user and user.is_authenticated and (user.is_staff or user.has_perm("hosts.change_host")))
