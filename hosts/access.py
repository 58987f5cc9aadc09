"""Who may see and change hosts: the only place (built on kvmweb.access).

Members of a team see the hosts granted to it; adding, editing, pinning, scanning and removing
hosts is for administrators (staff). Operators may ask for a sync of a granted host, limited
in rate (kvmweb.ratelimit) because every sync is work on the host.
"""

from kvmweb.access import (ADMIN, HOST_MEMBER, HOST_OPERATOR, OPERATOR, SIGNED_IN, Check, Refused,
                           hosts_q, is_admin, require, signed_in)

from .models import Host


def visible_hosts(user):
    if not signed_in(user):
        return Host.objects.none()
    return Host.objects.filter(hosts_q(user, field="pk"))


def can_view_host(user, host_pk):
    return visible_hosts(user).filter(pk=host_pk).exists()


def can_manage_hosts(user):
    """Adding, pinning, editing and removing hosts is for administrators."""
    return is_admin(user)


def require_manage_hosts(user):
    require(can_manage_hosts(user), "only administrators add, change, pin or remove hosts")


def can_sync_host(user, host):
    return is_admin(user) or Host.objects.filter(hosts_q(user, OPERATOR, field="pk"),
                                                 pk=host.pk).exists()


def require_sync_host(user, host):
    """Operators of a team granted the host may ask for a sync (rate limited); viewers not."""
    if not can_sync_host(user, host):
        raise Refused(f"only administrators and operators of a team granted {host} may sync it")
    if not is_admin(user):
        from kvmweb.ratelimit import hit

        hit(user, "sync", host.pk)


# Expected rules per URL and websocket group (kvmweb.access, tests/teams/test_matrix.py).
PERMISSIONS = {
    "hosts:list": SIGNED_IN,
    "hosts:add": ADMIN,
    "hosts:detail": HOST_MEMBER,
    "hosts:sync": Check(HOST_OPERATOR, "POST"),
    "hosts:scan_key": Check(ADMIN, "POST"),
    "hosts:pin_key": Check(ADMIN, "POST", {"fingerprint": "SHA256:x"}),
    "hosts:delete": Check(ADMIN, "POST"),
    "api:host-list": {"GET": SIGNED_IN, "POST": Check(ADMIN, data={"name": "n", "uri": "qemu+ssh://root@10.9.9.9/system"})},
    "api:host-detail": {"GET": HOST_MEMBER, "PUT": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "api:host-interfaces": {"GET": HOST_MEMBER},
    "api:host-pin-key": {"POST": ADMIN},
    "api:host-scan-key": {"POST": ADMIN},
    "api:host-sync": {"POST": HOST_OPERATOR},
    "api:host-rates": {"GET": Check(HOST_MEMBER, data={"iface": "eth0"})},
    "ws:host": HOST_MEMBER,
    "ws:rates": HOST_MEMBER,
}
