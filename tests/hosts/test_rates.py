"""Per-second rates: computed from counters, kept in Redis for graphs, served by the API, and
sampled only while a browser follows ``rates.<pk>`` (followers registered by the consumer)."""

import time

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from hosts import followers, rates
from hosts.models import Host
from kvmweb.consumers import LiveConsumer
from operations.locks import client as redis_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def host(db):
    redis_client().flushdb()
    return Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system",
                               status=Host.Status.ONLINE)


def test_it_turns_counters_into_bytes_per_second():
    before = {"t": 100.0, "counters": {"eth0": [1000, 500], "vnet0": [10, 10], "gone": [1, 1]}}
    after = {"t": 102.0, "counters": {"eth0": [3000, 900], "vnet0": [5, 20], "new0": [9, 9]}}
    # vnet0's rx went backwards (re-created): no made-up rate; new and gone interfaces skipped.
    assert rates.compute(before, after) == {"eth0": [1000.0, 200.0]}
    assert rates.compute(after, after) == {}


def test_it_keeps_the_history_window_in_redis(host, settings):
    settings.KVMWEB_RATES_HISTORY = 3
    now = time.time()
    for i in range(5):
        rates.record(host.pk, now - 4 + i, {"eth0": [i, 2 * i], "virbr0": [0, 0]})
    assert redis_client().llen(f"kvmweb:rates:{host.pk}") == 3
    points = rates.history(host.pk, "eth0")
    assert [p[1:] for p in points] == [[2, 4], [3, 6], [4, 8]]
    assert rates.history(host.pk, "nope0") == []


def test_the_api_serves_history_and_refuses_bad_input(host, admin_api, client):
    rates.record(host.pk, time.time(), {"vnet3": [10.5, 20.0]})
    answer = admin_api.get(f"/api/hosts/{host.pk}/rates/", {"iface": "vnet3"})
    assert answer.status_code == 200
    assert answer.json()["iface"] == "vnet3" and answer.json()["points"][0][1:] == [10.5, 20.0]
    assert admin_api.get(f"/api/hosts/{host.pk}/rates/").status_code == 400
    assert admin_api.get(f"/api/hosts/{host.pk}/rates/", {"iface": "a b;rm"}).status_code == 400
    assert admin_api.get("/api/hosts/999/rates/", {"iface": "eth0"}).status_code == 404
    # Anonymous: refused.
    assert client.get(f"/api/hosts/{host.pk}/rates/", {"iface": "vnet3"}).status_code in (401, 403)
    schema = admin_api.get("/api/schema/", {"format": "json"}).json()
    assert "/api/hosts/{id}/rates/" in schema["paths"]


def test_following_rates_makes_a_host_followed_until_the_browser_leaves(host, admin_user):
    group = f"rates.{host.pk}"

    async def session():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        communicator.scope["user"] = admin_user
        assert (await communicator.connect())[0]
        for bad in (f"rates.{host.pk}x", "rates.", "rates.-1", f"rates.{host.pk}.1"):
            await communicator.send_json_to({"follow": bad})
            assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
        assert not await _followed(group)
        await communicator.send_json_to({"follow": group})
        assert await communicator.receive_json_from(timeout=5) == {"type": "following", "group": group}
        assert await _followed(group)
        await communicator.disconnect()
        assert not await _followed(group)

    async_to_sync(session)()


def test_a_user_without_the_host_cannot_follow_its_rates(host, plain_user, user_api):
    async def session():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        communicator.scope["user"] = plain_user
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"follow": f"rates.{host.pk}"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
        await communicator.disconnect()

    async_to_sync(session)()
    assert not followers.followed(f"rates.{host.pk}")
    assert user_api.get(f"/api/hosts/{host.pk}/rates/", {"iface": "eth0"}).status_code == 404


def test_an_anonymous_browser_cannot_follow_rates(host):
    from django.contrib.auth.models import AnonymousUser

    async def session():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        communicator.scope["user"] = AnonymousUser()
        connected, code = await communicator.connect()
        assert not connected or code == 4401

    async_to_sync(session)()
    assert not followers.followed(f"rates.{host.pk}")


async def _followed(group):
    from asgiref.sync import sync_to_async

    return await sync_to_async(followers.followed)(group)
