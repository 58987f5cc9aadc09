"""/metrics: kvmweb's own figures from the database and Redis, django-prometheus's, and the
Grafana dashboard's queries (deploy/grafana/kvmweb.json) all exported."""

import json
import os
import re
from datetime import timedelta

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, wait_for

DASHBOARD = ROOT / "deploy" / "grafana" / "kvmweb.json"


def scrape():
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return list(text_string_to_metric_families(response.content.decode()))


def samples(families, name):
    return [s for f in families for s in f.samples if s.name == name]


def value(families, name, **labels):
    found = [s.value for s in samples(families, name)
             if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, samples(families, name))
    return found[0]


@pytest.mark.django_db
def test_it_counts_operations_hosts_and_sessions_from_the_database(django_user_model):
    from consoles.models import ConsoleSession
    from hosts.models import Host
    from operations.models import Operation

    now = timezone.now()
    kvm1 = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system",
                               status="online", last_sync=now - timedelta(seconds=90))
    Host.objects.create(name="kvm2", uri="qemu+ssh://root@10.0.0.2/system", status="offline")
    for took, status in ((0.3, "succeeded"), (4, "succeeded"), (45, "failed")):
        Operation.objects.create(action="network.start", target="network:n", status=status,
                                 host=kvm1, started=now - timedelta(seconds=took), finished=now)
    Operation.objects.create(action="vm.start", target="domain:d", status="queued", host=kvm1)
    ConsoleSession.objects.create(username="a", vm_name="d", host_name="kvm1", kind="serial")
    ConsoleSession.objects.create(username="a", vm_name="d", host_name="kvm1", kind="serial",
                                  ended=now)

    families = scrape()
    assert value(families, "kvmweb_operations", action="network.start", status="succeeded") == 2
    assert value(families, "kvmweb_operations", action="network.start", status="failed") == 1
    assert value(families, "kvmweb_operations", action="vm.start", status="queued") == 1
    bucket = "kvmweb_operation_duration_seconds_bucket"
    assert value(families, bucket, action="network.start", le="0.5") == 1
    assert value(families, bucket, action="network.start", le="5.0") == 2
    assert value(families, bucket, action="network.start", le="30.0") == 2
    assert value(families, bucket, action="network.start", le="+Inf") == 3
    assert value(families, "kvmweb_operation_duration_seconds_count", action="network.start") == 3
    assert value(families, "kvmweb_operation_duration_seconds_sum",
                 action="network.start") == pytest.approx(49.3, abs=0.01)
    assert value(families, "kvmweb_hosts", status="online") == 1
    assert value(families, "kvmweb_hosts", status="offline") == 1
    assert value(families, "kvmweb_hosts", status="error") == 0
    assert 90 <= value(families, "kvmweb_host_last_sync_age_seconds", host="kvm1") < 150
    ages = samples(families, "kvmweb_host_last_sync_age_seconds")
    assert [s.labels["host"] for s in ages] == ["kvm1"]  # kvm2 never synced: no made-up age
    assert value(families, "kvmweb_console_sessions_open") == 1


@pytest.mark.django_db
def test_it_reports_the_depth_of_each_celery_queue():
    """Real messages in the real broker (kombu's Redis lists, every priority)."""
    from kvmweb.celery import app, background_queue

    before = app.conf.task_default_queue
    app.conf.task_default_queue = f"kvmweb-metrics-{os.getpid()}"
    try:
        for priority in (0, 0, 9):
            app.send_task("operations.tasks.none", queue=app.conf.task_default_queue,
                          priority=priority)
        app.send_task("operations.tasks.none", queue=background_queue())
        families = scrape()
        assert value(families, "kvmweb_queue_depth", queue=app.conf.task_default_queue) == 3
        assert value(families, "kvmweb_queue_depth", queue=background_queue()) == 1
    finally:
        broker = redis.Redis.from_url(app.conf.broker_url)
        for key in broker.scan_iter(match=f"kvmweb-metrics-{os.getpid()}*"):
            broker.delete(key)
        app.conf.task_default_queue = before


@pytest.mark.django_db(transaction=True)
def test_it_counts_open_websockets_of_this_web_process(admin_user):
    from kvmweb.consumers import LiveConsumer

    def clients():
        found = [s for s in samples(scrape(), "kvmweb_websocket_clients")
                 if s.labels["process"] == f"{os.uname().nodename}:{os.getpid()}"]
        return found[0].value if found else None

    async def session():
        communicator = WebsocketCommunicator(LiveConsumer.as_asgi(), "/ws/live/")
        communicator.scope["user"] = admin_user
        connected, _ = await communicator.connect()
        assert connected
        await sync_to_async(wait_for)(lambda: clients() == 1, timeout=30, what="one counted")
        await communicator.disconnect()
        await sync_to_async(wait_for)(lambda: clients() == 0, timeout=30, what="none counted")

    async_to_sync(session)()


@pytest.mark.django_db
def test_every_metric_the_dashboard_queries_is_exported(admin_user):
    """Every series name in the dashboard's queries is a sample /metrics gives (with a synced
    host, a finished operation, a request first, so django-prometheus has some, and a heartbeat
    of each process kind, so the per-process ones are there too)."""
    from hosts.models import Host
    from kvmweb import heartbeat
    from operations.models import Operation

    now = timezone.now()
    Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system", last_sync=now)
    Operation.objects.create(action="vm.start", status="succeeded", started=now, finished=now)

    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 10
    queried = {name for e in exprs for name in re.findall(r"\b((?:kvmweb|django)_[a-z0-9_]+)", e)}

    client = Client()
    client.force_login(admin_user)
    assert client.get("/hosts/").status_code == 200
    name = f"test-{os.getpid()}"
    heartbeat.count_task("operations.tasks.run_operation", "SUCCESS")
    heartbeat.publish("worker", name, {"queues": "q"}, heartbeat.worker_metrics())
    heartbeat.publish("watcher", name, {"group": 0, "groups": 1},
                      {"hosts_connected": 0, "netlink_streams": 0})
    heartbeat.publish("web", name, metrics={"websockets": {"live": 0}})
    try:
        exported = {s.name for f in scrape() for s in f.samples}
    finally:
        for role in ("worker", "watcher", "web"):
            heartbeat.forget(role, name)
    missing = sorted(queried - exported)
    assert not missing, f"the dashboard queries metrics /metrics does not export: {missing}"


def test_the_heartbeat_outlives_its_beat_by_the_ttl_only():
    assert settings.KVMWEB_HEALTH_BEAT * 2 <= settings.KVMWEB_HEALTH_TTL < 10
