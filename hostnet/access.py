"""Who may see and change host networking (bridges, bonds, VLANs, addresses over physical
NICs): the only place. Members of a team granted the host see its interface tree; every change
is for administrators, because it can cut the host (and every team's guests) off the network."""

from hosts.access import visible_hosts
from kvmweb.access import ADMIN, HOST_MEMBER, SIGNED_IN, Check, is_admin, require

from .plans import ACTIONS


def visible_host_networks(user):
    return visible_hosts(user)


def can_change_host_network(user):
    return is_admin(user)


def require_change_host_network(user):
    require(can_change_host_network(user), "only administrators change host networking")


# Expected rules (kvmweb.access, tests/teams/test_matrix.py).
PERMISSIONS = {
    "hostnet:index": SIGNED_IN,
    "hostnet:host": HOST_MEMBER,
    "hostnet:change": [Check(ADMIN, action="mtu"),
                       Check(ADMIN, "POST", {"name": "eth0", "mtu": 1400}, action="mtu")],
    "api:hostnet-detail": {"GET": HOST_MEMBER},
    # One change endpoint and one plan/ twin per action (hostnet.api.views), all admin-only.
    **{f"api:hostnet-{action.replace('_', '-')}{suffix}": {
        "POST": Check(ADMIN, data={"name": "eth0", "mtu": 1400})}
       for action in ACTIONS for suffix in ("", "-plan")},
}
