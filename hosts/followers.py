"""Who is looking at a host right now: browsers following ``host.<pk>`` or ``rates.<pk>``.

Background work that only matters while someone looks (sampling counters once a second,
re-reading leases every few seconds) runs only for followed hosts. Each websocket consumer
registers its channel with an expiry it keeps renewing while connected, so a crashed web
server's followers fade away by themselves (no counter that could stay wrong).
"""

import time

from operations.locks import client

FOLLOW_SECONDS = 30  # a consumer renews every RENEW_SECONDS; an entry lives this long
RENEW_SECONDS = 10


def _key(group):
    return f"kvmweb:followers:{group}"


def follow(group, channel):
    client().zadd(_key(group), {channel: time.time() + FOLLOW_SECONDS})
    client().expire(_key(group), FOLLOW_SECONDS)


def unfollow(group, channel):
    client().zrem(_key(group), channel)


def followed(group):
    """True while at least one browser follows the group."""
    key = _key(group)
    pipe = client().pipeline()
    pipe.zremrangebyscore(key, "-inf", time.time())
    pipe.zcard(key)
    return pipe.execute()[1] > 0
