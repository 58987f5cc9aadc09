"""The one websocket endpoint, /ws/live/. The browser asks to follow groups; each request is
checked against the user's access to that object before the consumer joins the group."""

import re

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

_GROUP = re.compile(r"(hosts)|(host|operation)\.([0-9]{1,18})")


@database_sync_to_async
def _may_follow(user, group):
    from hosts.access import can_view_host, visible_hosts
    from operations.models import Operation

    match = _GROUP.fullmatch(group)
    if not match:
        return False
    if match.group(1):
        return True  # the list page's group carries only hosts the user can see (see send)
    kind, pk = match.group(2), int(match.group(3))
    if kind == "host":
        return can_view_host(user, pk)
    return Operation.objects.filter(pk=pk, host__in=visible_hosts(user)).exists()


@database_sync_to_async
def _snapshot(group):
    from kvmweb import events

    return events.snapshot(group)


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = set()
        await self.accept()

    async def receive_json(self, content, **kwargs):
        group = content.get("follow") if isinstance(content, dict) else None
        if not isinstance(group, str) or not await _may_follow(self.scope["user"], group):
            await self.send_json({"type": "error", "error": f"not allowed to follow {group!r}"})
            return
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)
        await self.send_json({"type": "following", "group": group})
        for event in await _snapshot(group):
            await self.send_json(dict(event))

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    # One handler per event type; each forwards the event as it is.
    async def host_status(self, event):
        await self.send_json(event)

    async def host_inventory(self, event):
        await self.send_json(event)

    async def operation_update(self, event):
        await self.send_json(event)
