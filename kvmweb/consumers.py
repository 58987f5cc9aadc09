"""The one websocket endpoint, /ws/live/. The browser asks to follow groups; each request is
checked against the user's access to that object (the apps' access modules, the same rules as
pages and the API) before the consumer joins the group. The hosts list follows ``host.<pk>`` of
each host it shows; there is no all-hosts group. Operation events reach a host's group for every
operation on it, so each one is checked again before it is forwarded (another team's operations
on a shared host stay invisible)."""

import asyncio
import re

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import heartbeat

_GROUP = re.compile(r"(host|rates|operation)\.([0-9]{1,18})")


def _host_rule(user, pk):
    from hosts.access import can_view_host

    return can_view_host(user, pk)


def _operation_rule(user, pk):
    from operations.access import can_view_operation

    return can_view_operation(user, pk)


# Group kind -> who may follow it (user, pk) -> bool. Add a kind here with its app's rule.
FOLLOW_RULES = {"host": _host_rule, "rates": _host_rule, "operation": _operation_rule}


def may_follow(user, group):
    match = _GROUP.fullmatch(group) if isinstance(group, str) else None
    if not match or not (user and user.is_authenticated):
        return False
    return FOLLOW_RULES[match.group(1)](user, int(match.group(2)))


_may_follow = database_sync_to_async(may_follow)
_may_see_operation = database_sync_to_async(_operation_rule)


@database_sync_to_async
def _snapshot(group):
    from kvmweb import events

    return events.snapshot(group)


def _followed_groups(groups):
    """Groups whose followers make the watcher do extra work (sampling, lease re-reads)."""
    return [g for g in groups if g.startswith(("host.", "rates."))]


@sync_to_async(thread_sensitive=False)
def _register(groups, channel, following=True):
    from hosts import followers

    for group in _followed_groups(groups):
        if following:
            followers.follow(group, channel)
        else:
            followers.unfollow(group, channel)


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = set()
        self.operations_seen = {}  # operation pk -> may this user see it (asked once)
        await self.accept()
        heartbeat.websocket("live", +1)  # /metrics: kvmweb_websocket_clients

    async def receive_json(self, content, **kwargs):
        group = content.get("follow") if isinstance(content, dict) else None
        if not isinstance(group, str) or not await _may_follow(self.scope["user"], group):
            await self.send_json({"type": "error", "error": f"not allowed to follow {group!r}"})
            return
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)
            await _register([group], self.channel_name)
            if _followed_groups([group]) and getattr(self, "renewer", None) is None:
                self.renewer = asyncio.ensure_future(self._renew())
        await self.send_json({"type": "following", "group": group})
        for event in await _snapshot(group):
            if event["type"] != "operation.update" or await self._may_see(event["operation"]):
                await self.send_json(dict(event))

    async def _renew(self):
        """Keep this browser counted as a follower while it stays connected."""
        from hosts.followers import RENEW_SECONDS

        while True:
            await asyncio.sleep(RENEW_SECONDS)
            await _register(list(self.groups_joined), self.channel_name)

    async def disconnect(self, code):
        if hasattr(self, "groups_joined"):  # accepted (connect() set it)
            heartbeat.websocket("live", -1)
        renewer = getattr(self, "renewer", None)
        if renewer is not None:
            renewer.cancel()
        groups = getattr(self, "groups_joined", ())
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        await _register(list(groups), self.channel_name, following=False)

    # One handler per event type; each forwards the event as it is.
    async def host_status(self, event):
        await self.send_json(event)

    async def host_inventory(self, event):
        await self.send_json(event)

    async def host_interfaces(self, event):
        await self.send_json(event)

    async def host_rates(self, event):
        await self.send_json(event)

    async def _may_see(self, pk):
        if pk not in self.operations_seen:
            self.operations_seen[pk] = await _may_see_operation(self.scope["user"], pk)
        return self.operations_seen[pk]

    async def operation_update(self, event):
        if await self._may_see(event.get("operation")):
            await self.send_json(event)

    async def topology_delta(self, event):
        # A delta carries every element of the host; only those who see everything get it
        # whole, the others the versions, and they fetch their own view (topology.access).
        from topology.access import pushes_deltas

        if not pushes_deltas(self.scope["user"]):
            event = {k: event[k] for k in ("type", "host", "version", "base")} | {"refetch": True}
        await self.send_json(event)
