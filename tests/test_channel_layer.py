"""The channel layer's Redis reads must outlast channels-redis' blocking pop (5 s): with
redis-py 8's default 5 s socket timeout, a consumer waiting for events crashed with
TimeoutError on a busy machine and every open page lost its websocket."""

import asyncio

import pytest
from channels.layers import get_channel_layer


def test_reads_wait_longer_than_the_blocking_pop():
    layer = get_channel_layer()

    async def socket_timeout():
        return layer.connection(0).connection_pool.connection_kwargs.get("socket_timeout")

    timeout = asyncio.run(socket_timeout())
    assert timeout is not None and timeout > layer.brpop_timeout


@pytest.mark.slow
def test_a_receiver_waits_through_an_idle_pop_and_still_gets_the_event():
    layer = get_channel_layer()

    async def scenario():
        channel = await layer.new_channel()
        receiving = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(layer.brpop_timeout + 1.5)  # one whole empty pop, then some
        assert not receiving.done(), receiving.exception() if receiving.done() else None
        await layer.send(channel, {"type": "ping"})
        return await asyncio.wait_for(receiving, 10)

    assert asyncio.run(scenario())["type"] == "ping"
