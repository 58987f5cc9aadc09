"""kvmweb through Redis Sentinel (REDIS_SENTINELS / REDIS_SENTINEL_MASTER): a real sentinel in
front of the test Redis, REDIS_URL pointing at a port where nothing listens, so only the
sentinel can tell the processes where Redis is. The channel layer sends and receives, kvmweb's
own Redis client works, and a Celery task goes through the broker to a worker and runs."""

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import ROOT, start_worker, stop_worker, wait_for
from tests.scaleout.sentinel import start_sentinel, stop

CLIENT = r'''
import json, os, sys
import django
django.setup()
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from kvmweb import redisconn
from kvmweb.celery import app

out = {"sentinels": settings.REDIS_SENTINELS, "broker": app.conf.broker_url}
layer = get_channel_layer()
channel = async_to_sync(layer.new_channel)()
async_to_sync(layer.send)(channel, {"type": "test.message", "text": "through sentinel"})
out["received"] = async_to_sync(layer.receive)(channel)
client = redisconn.connect(socket_timeout=5)
client.set(sys.argv[1], "set through sentinel", ex=60)
out["port"] = client.connection_pool.get_master_address()[1]
result = app.send_task("hosts.tasks.check_all_hosts", queue=os.environ["CELERY_QUEUE"] + ".background")
out["task"] = result.id
out["ping"] = app.control.ping(destination=[sys.argv[2]], timeout=10)
print(json.dumps(out))
'''


@pytest.mark.django_db(transaction=True)
def test_it_reaches_redis_through_sentinel(tmp_path):
    redis_port = int(settings.REDIS_URL.rsplit(":", 1)[1].split("/")[0])
    master = f"kvmweb-test-{redis_port}"
    sentinel, sentinel_port = start_sentinel(tmp_path / "sentinel", redis_port, master)
    queue = f"sentinel-{uuid.uuid4().hex[:8]}"
    env = {"REDIS_SENTINELS": f"127.0.0.1:{sentinel_port}", "REDIS_SENTINEL_MASTER": master,
           # Nothing listens there: whatever reaches Redis went through the sentinel.
           "REDIS_URL": "redis://127.0.0.1:1/0", "CELERY_QUEUE": queue}
    worker = start_worker([queue, f"{queue}.background"], tmp_path / "worker.log", name=queue,
                          env=env)
    try:
        key = f"kvmweb-test:sentinel:{queue}"
        node = f"{queue}@{os.uname().nodename}"
        proc = subprocess.run([sys.executable, "-c", CLIENT, key, node], cwd=ROOT,
                              env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "kvmweb.settings"},
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out["sentinels"] == [["127.0.0.1", sentinel_port]]
        assert out["broker"].startswith(f"sentinel://127.0.0.1:{sentinel_port}/")
        assert out["received"] == {"type": "test.message", "text": "through sentinel"}
        assert out["port"] == redis_port
        from operations.locks import client as direct  # the test's own REDIS_URL: the real one
        assert direct().get(key) == b"set through sentinel"
        assert out["ping"] and node in out["ping"][0]
        # The worker (also through the sentinel) took the task from the broker and ran it.
        log = Path(worker.log)
        wait_for(lambda: re.search(rf"check_all_hosts\[{out['task']}\] succeeded", log.read_text()),
                 timeout=60, what="the task to run in the worker")
    finally:
        stop_worker(worker)
        stop(sentinel)
