"""Subnets for new team networks from the team's address pools (teams.ipam), checked with the
same overlap rules as every other network (networks.validation.check_overlaps): a subnet is
free when it overlaps no network on any host, no host address or route, and no network that a
queued operation is about to create."""

import ipaddress

from kvmweb.access import is_admin
from operations.models import Operation
from teams import ipam as pools

from . import choices, facts as host_facts
from .validation import Problems, check_overlaps


def _queued_subnets():
    found = []
    for op in Operation.objects.filter(action="network.create", finished__isnull=True):
        if (op.params or {}).get("subnet"):
            found.append(ipaddress.ip_network(op.params["subnet"], strict=False))
    return found


def is_free(subnet, facts, queued):
    problems = Problems()
    check_overlaps(problems, "subnet", subnet, facts)
    return not problems and not problems.warnings and not any(q.overlaps(subnet) for q in queued)


def next_free(team, host):
    """The first free subnet of the team's pools for a network on ``host`` (text), or None."""
    facts, queued = host_facts.load(host), _queued_subnets()
    for subnet in pools.candidates(team):
        if is_free(subnet, facts, queued):
            return str(subnet)
    return None


def fill_subnet(user, team, host, spec):
    """Give a new NAT/routed/isolated network of a team with pools the next free pool subnet
    when none was asked for; check that an asked-for subnet lies in the pools (administrators
    may use any). Returns (spec, errors)."""
    kind = spec.get("kind") or choices.NAT
    if team is None or kind not in choices.MANAGED or not team.pools.exists():
        return spec, {}
    subnet = spec.get("subnet")
    if subnet is None:
        found = next_free(team, host)
        if found is None:
            return spec, {"subnet": [f"team {team}'s address pools ("
                                     + ", ".join(p.cidr for p in team.pools.all())
                                     + ") have no free subnet left: ask an administrator "
                                       "for another pool"]}
        return {**spec, "subnet": found}, {}
    if subnet and not is_admin(user):
        try:
            inside = pools.pool_of(team, subnet) is not None
        except ValueError:
            return spec, {}  # validation says what is wrong with it
        if not inside:
            return spec, {"subnet": [f"{subnet} is outside team {team}'s address pools ("
                                     + ", ".join(p.cidr for p in team.pools.all())
                                     + "): leave it empty to get the next free one"]}
    return spec, {}
