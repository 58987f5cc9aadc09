"""kvmweb's own metrics, collected when /metrics is scraped.

From the database (the read model, shared by every process): operations by action and status,
operation durations (a histogram over every finished operation: cumulative, so a true counter
while the audit log keeps its rows), hosts by status, the age of each host's last sync, open
console sessions. From Redis: each queue's depth (the broker's lists) and what every live
process published with its heartbeat (kvmweb.heartbeat): workers' task counts, the watchers'
connected hosts and netlink streams, web processes' websocket clients. Workers and watchers run
on several machines; Redis is what they share, so they push there and any web process reports
them all (series labelled with the process id; a dead process's series go with its key).
"""

from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                    HistogramMetricFamily)
from prometheus_client.utils import floatToGoString

from consoles.models import ConsoleSession
from hosts.models import Host
from kvmweb import heartbeat, redisconn
from operations.models import Operation

from .readiness import TIMEOUT, queues

DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)
# Kombu's Redis transport keeps a queue's messages of priority p in list "<queue>\x06\x16<p>"
# (the plain name for priority 0), for its default priority steps.
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


class KvmwebCollector:
    def collect(self):
        yield from self.operations()
        yield from self.hosts()
        sessions = GaugeMetricFamily("kvmweb_console_sessions_open", "Console sessions open")
        sessions.add_metric([], ConsoleSession.objects.filter(ended__isnull=True).count())
        yield sessions
        yield from self.queues()
        yield from self.processes()

    def operations(self):
        by_status = GaugeMetricFamily("kvmweb_operations", "Operations by action and status",
                                      labels=["action", "status"])
        for row in Operation.objects.values("action", "status").annotate(n=Count("pk")):
            by_status.add_metric([row["action"], row["status"]], row["n"])
        yield by_status

        duration = ExpressionWrapper(F("finished") - F("started"), output_field=DurationField())
        buckets = {f"le{i}": Count("pk", filter=Q(took__lte=timedelta(seconds=b)))
                   for i, b in enumerate(DURATION_BUCKETS)}
        rows = (Operation.objects.filter(started__isnull=False, finished__isnull=False)
                .annotate(took=duration).values("action")
                .annotate(n=Count("pk"), total=Sum("took"), **buckets))
        hist = HistogramMetricFamily("kvmweb_operation_duration_seconds",
                                     "Time from start to end of finished operations",
                                     labels=["action"])
        for row in rows:
            points = [(floatToGoString(b), row[f"le{i}"]) for i, b in enumerate(DURATION_BUCKETS)]
            points.append(("+Inf", row["n"]))
            total = row["total"]
            if isinstance(total, (int, float)):  # some backends give microseconds
                total = timedelta(microseconds=total)
            hist.add_metric([row["action"]], points,
                            sum_value=max(total.total_seconds(), 0) if total else 0)
        yield hist

    def hosts(self):
        by_status = GaugeMetricFamily("kvmweb_hosts", "Hosts by status", labels=["status"])
        counts = dict(Host.objects.values_list("status").annotate(n=Count("pk")))
        for status in Host.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        age = GaugeMetricFamily("kvmweb_host_last_sync_age_seconds",
                                "Seconds since each host's last completed sync", labels=["host"])
        now = timezone.now()
        for name, last in Host.objects.filter(last_sync__isnull=False).values_list(
                "name", "last_sync"):
            age.add_metric([name], max((now - last).total_seconds(), 0))
        yield age

    def queues(self):
        from kvmweb.celery import app

        depth = GaugeMetricFamily("kvmweb_queue_depth", "Messages waiting in each Celery queue",
                                  labels=["queue"])
        try:
            url = app.conf.broker_url or settings.CELERY_BROKER_URL
            timeouts = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT}
            # Through Redis Sentinel (README "Scaling out") the broker is the master it names.
            broker = (redisconn.connect(**timeouts) if url.startswith("sentinel://")
                      else redis.Redis.from_url(url, **timeouts))
            pipe = broker.pipeline()
            names = list(queues().values())
            for name in names:
                for suffix in PRIORITY_SUFFIXES:
                    pipe.llen(name + suffix)
            lengths = pipe.execute()
        except (redis.RedisError, ValueError):
            return  # no Redis broker, or not reachable: /readyz says so; no made-up zero
        for i, name in enumerate(names):
            step = len(PRIORITY_SUFFIXES)
            depth.add_metric([name], sum(lengths[i * step:(i + 1) * step]))
        yield depth

    def processes(self):
        try:
            beats = {role: heartbeat.alive(role) for role in ("worker", "beat", "watcher", "web")}
        except redis.RedisError:
            return
        workers = GaugeMetricFamily("kvmweb_workers_alive", "Celery workers seen, per queue",
                                    labels=["queue"])
        for queue in queues().values():
            workers.add_metric([queue], sum(queue in b.get("queues", "").split(",")
                                            for b in beats["worker"]))
        yield workers
        tasks = CounterMetricFamily("kvmweb_celery_tasks", "Tasks run by each live worker",
                                    labels=["worker", "task", "state"])
        for b in beats["worker"]:
            for name, state, n in b["metrics"].get("tasks", []):
                tasks.add_metric([b["id"], name, state], n)
        yield tasks
        alive = GaugeMetricFamily("kvmweb_beat_alive", "Beat processes seen")
        alive.add_metric([], len(beats["beat"]))
        yield alive
        watchers = GaugeMetricFamily("kvmweb_watchers_alive", "Watcher processes seen")
        watchers.add_metric([], len(beats["watcher"]))
        yield watchers
        connected = GaugeMetricFamily("kvmweb_watcher_hosts_connected",
                                      "Hosts each watcher holds an event connection to",
                                      labels=["watcher"])
        streams = GaugeMetricFamily("kvmweb_watcher_netlink_streams",
                                    "Netlink event streams each watcher has open",
                                    labels=["watcher"])
        for b in beats["watcher"]:
            connected.add_metric([b["id"]], b["metrics"].get("hosts_connected", 0))
            streams.add_metric([b["id"]], b["metrics"].get("netlink_streams", 0))
        yield connected
        yield streams
        sockets = GaugeMetricFamily("kvmweb_websocket_clients",
                                    "Open websockets per web process", labels=["process", "kind"])
        for b in beats["web"]:
            for kind, n in b["metrics"].get("websockets", {}).items():
                sockets.add_metric([b["id"], kind], n)
        yield sockets
