"""Websocket: who may follow what, and that pushed events arrive."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from hosts.models import Host
from kvmweb import events
from kvmweb.consumers import LiveConsumer
from operations.models import Operation
from tests.conftest import grant

pytestmark = pytest.mark.django_db(transaction=True)


def follow_and_receive(user, group, send=None):
    """Connect as ``user``, follow ``group``, optionally trigger ``send``; return the messages."""
    async def session():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"follow": group})
        messages = [await communicator.receive_json_from(timeout=5)]
        if messages[0]["type"] == "following":
            # The current state comes right after "following" (what changed before we joined).
            while not await communicator.receive_nothing(timeout=0.3):
                messages.append(await communicator.receive_json_from(timeout=5))
        if send is not None and messages[0]["type"] == "following":
            from asgiref.sync import sync_to_async

            await sync_to_async(send)()
            messages.append(await communicator.receive_json_from(timeout=5))
        await communicator.disconnect()
        return messages

    return async_to_sync(session)()


def test_it_pushes_host_status_to_followers(plain_user):
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system",
                               status=Host.Status.OFFLINE, status_reason="gone")
    grant(plain_user, host, "viewer")
    def change():
        host.status = Host.Status.ONLINE
        events.host_status(host)

    messages = follow_and_receive(plain_user, f"host.{host.pk}", change)
    assert messages[0] == {"type": "following", "group": f"host.{host.pk}"}
    # First the snapshot of what the page may have missed, then the live event.
    assert messages[1]["type"] == "host.status" and messages[1]["snapshot"] is True
    assert messages[1]["status"] == "offline" and messages[1]["reason"] == "gone"
    assert messages[-1]["type"] == "host.status" and "snapshot" not in messages[-1]
    assert messages[-1]["host"] == host.pk and messages[-1]["status"] == "online"


def test_it_pushes_operation_progress(plain_user):
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system")
    grant(plain_user, host, "viewer")
    op = Operation.objects.create(host=host, action="host.sync", progress=40)
    def progress():
        op.progress = 60
        events.operation_update(op)

    messages = follow_and_receive(plain_user, f"operation.{op.pk}", progress)
    assert messages[1]["type"] == "operation.update" and messages[1]["snapshot"] is True
    assert messages[1]["progress"] == 40
    assert messages[-1]["progress"] == 60 and "snapshot" not in messages[-1]


@pytest.mark.parametrize("group", ["host.999999", "operation.999999", "kvmweb.secrets", "host.1;x", ""])
def test_it_refuses_groups_the_user_cannot_see(plain_user, group):
    messages = follow_and_receive(plain_user, group)
    assert messages[0]["type"] == "error"
