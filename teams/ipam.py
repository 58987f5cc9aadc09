"""Address pools: the subnets a team's new networks may take, in order. Whether one is free
(no overlap with any network on any host, or with a host's addresses and routes) is decided
by networks.ipam with the networks app's own overlap check."""

import ipaddress

MAX_CANDIDATES = 65536  # a /8 carved into /24s


def candidates(team):
    """Every subnet of the team's pools, pool by pool, lowest first."""
    for pool in team.pools.all():
        for n, subnet in enumerate(pool.network.subnets(new_prefix=pool.prefix)):
            if n >= MAX_CANDIDATES:
                break
            yield subnet


def pool_of(team, subnet):
    """The team's pool that holds ``subnet`` (text or network), or None."""
    net = ipaddress.ip_network(subnet, strict=False)
    for pool in team.pools.all():
        if net.version == 4 and net.subnet_of(pool.network):
            return pool
    return None
