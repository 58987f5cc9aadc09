"""Why pages read the database: the hosts page with many hosts, some of them dead, side by side
with what a page that asked every host itself (a libvirt connect + getInfo each, one after
another, as WebVirtCloud's host list does) would cost.

Run as root:  .venv/bin/python bench/pages_bench.py [--hosts 100] [--dead 20]
It uses a throw-away SQLite database and a one-host lab (prefix kvmp, 10.69.0.0/24) for the
baseline's live connections; dead hosts are addresses in that lab subnet where nothing listens.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STATE = tempfile.mkdtemp(prefix="kvmweb-pages-bench-")
CONNECT_TIMEOUT = 3
os.environ.update({"KVMWEB_STATE_DIR": STATE, "DJANGO_SETTINGS_MODULE": "kvmweb.settings",
                   "DATABASE_URL": f"sqlite:///{STATE}/bench.sqlite3",
                   "KVMWEB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT), "ALLOWED_HOSTS": "testserver"})
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from hosts import services  # noqa: E402
from hosts.models import Host  # noqa: E402
from kvmweb.lab import create_lab, teardown_lab  # noqa: E402
from kvmweb.virt import connection  # noqa: E402
from kvmweb.virt.errors import VirtError  # noqa: E402

PREFIX, SUBNET = "kvmp", "10.69.0.0/24"


def page_time(client, repeats=5):
    best = None
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get("/hosts/")
        assert response.status_code == 200, (response.status_code, response.content[:300])
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best


def ask_every_host(hosts):
    started = time.perf_counter()
    for host in hosts:
        try:
            conn = connection.open_connection(host.target(), keepalive=None)
            conn.getInfo()
            conn.close()
        except VirtError:
            pass
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--dead", type=int, default=20)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", "", "x")
    services.configure_virt()
    try:
        live = create_lab(1, [services.public_key()], prefix=PREFIX, subnet=SUBNET, guests=())[0]
        key = " ".join(live.host_key_pub.split()[:2])
        # The page only reads rows; their URIs need not resolve.
        Host.objects.bulk_create(
            Host(name=f"h{i:03d}", uri=f"qemu+ssh://root@kvm{i:03d}.example.org/system",
                 host_key=key, status=Host.Status.OFFLINE if i < args.dead else Host.Status.ONLINE)
            for i in range(args.hosts))
        # The baseline really connects: live hosts are the lab host, dead ones are lab-subnet
        # addresses where nothing answers (traffic stays inside our namespaces).
        targets = [Host(uri=f"qemu+ssh://root@10.69.0.{200 + i % 50}/system", host_key=key)
                   if i < args.dead else Host(uri=live.uri, host_key=key)
                   for i in range(args.hosts)]
        client = Client()
        client.force_login(user)
        ours = page_time(client)
        theirs = ask_every_host(targets)
        print(f"{args.hosts} hosts ({args.dead} not answering, connect timeout "
              f"{CONNECT_TIMEOUT} s)")
        print(f"{'kvmweb /hosts/ page (database)':<42} {ours * 1000:8.1f} ms")
        print(f"{'asking every host (connect + getInfo)':<42} {theirs * 1000:8.1f} ms")
    finally:
        teardown_lab(prefix=PREFIX)


if __name__ == "__main__":
    main()
