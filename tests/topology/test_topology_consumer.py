"""topology.delta on /ws/live/: whole for administrators, versions only for everyone else."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from hosts.models import HostInterface
from hosts.signals import announce
from kvmweb.consumers import LiveConsumer
from tests.conftest import grant
from topology import services
from topology_fixtures import store_classic_host

pytestmark = pytest.mark.django_db(transaction=True)


def delta_seen_by(user, host):
    """Follow host.<pk> as ``user``, change the host's read model, return the topology.delta."""
    def change():
        HostInterface.objects.filter(host=host, name="vnet0").update(up=False)
        announce(host.pk, "netlink")

    async def session():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        communicator.scope["user"] = user
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"follow": f"host.{host.pk}"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "following"
        while not await communicator.receive_nothing(timeout=0.3):
            await communicator.receive_json_from(timeout=5)  # the snapshot
        await sync_to_async(change)()
        while True:
            message = await communicator.receive_json_from(timeout=5)
            if message["type"] == "topology.delta":
                break
        await communicator.disconnect()
        return message

    return async_to_sync(session)()


def test_an_admin_gets_the_delta_and_a_member_only_its_version(admin_user, plain_user):
    host = store_classic_host("kvm1", "10.79.1.11")
    services.refresh(host.pk)
    whole = delta_seen_by(admin_user, host)
    assert whole["change"] == [{"id": f"if:{host.pk}:vnet0", "data": {"state": "down"}}]

    HostInterface.objects.filter(host=host, name="vnet0").update(up=True)
    services.refresh(host.pk)
    grant(plain_user, host, "viewer")
    told = delta_seen_by(plain_user, host)
    assert told == {"type": "topology.delta", "host": host.pk, "version": told["version"],
                    "base": told["version"] - 1, "refetch": True}
