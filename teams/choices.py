"""Roles in a team, lowest first. Staff users are global administrators (no role needed)."""

VIEWER = "viewer"
OPERATOR = "operator"
TEAM_ADMIN = "admin"

ROLE_CHOICES = [
    (VIEWER, "viewer (sees the team's hosts and objects)"),
    (OPERATOR, "operator (creates, changes and deletes the team's networks and VMs)"),
    (TEAM_ADMIN, "team admin (an operator who also manages the team's members)"),
]
RANK = {VIEWER: 1, OPERATOR: 2, TEAM_ADMIN: 3}


def at_least(role):
    """The roles that include ``role`` (an operator may do what a viewer may)."""
    return [r for r, rank in RANK.items() if rank >= RANK[role]]


# Quota fields on Team: (field, what it limits, unit).
QUOTAS = [
    ("max_networks", "networks", ""),
    ("max_vms", "VMs", ""),
    ("max_vcpus", "vCPUs", ""),
    ("max_memory_mib", "memory", "MiB"),
    ("max_nics", "NICs", ""),
    ("max_addresses", "addresses", ""),
]
