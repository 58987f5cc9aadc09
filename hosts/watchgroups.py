"""``manage.py watcher``: one watcher process per group of hosts, kept running.

Why processes: libvirt's event loop (glib) and every host's connection live in the process
that watches them, and a fault there is fatal to the whole process (a segfault in libglib
after a paused libvirtd resumed was seen). With one process per group, a crash stops only that
group's events; this supervisor restarts the process at once and releases the dead process's
host claims in Redis at the same moment, so its hosts are connected again by the new process
without waiting for the claims to expire.
"""

import socket
import sys

from django.conf import settings

from kvmweb import redisconn
from kvmweb.supervise import Supervisor, log

from .watcher import release_claims

STOP_GRACE = 6.0  # inside ./run's supervisor, which allows 9 s


class WatcherGroups(Supervisor):
    def __init__(self, groups):
        manage = str(settings.BASE_DIR / "manage.py")
        specs = [(f"watcher group {i}/{groups}",
                  [sys.executable, manage, "watcher", "--group", str(i), "--groups", str(groups)],
                  None) for i in range(groups)]
        super().__init__(specs, grace=STOP_GRACE)
        self.redis = redisconn.connect()

    def exited(self, child, status):
        owner = f"{socket.gethostname()}:{child.proc.pid}"  # hosts.watcher.Watcher.id
        released = release_claims(self.redis, owner)
        if released:
            log(f"released the claims of {child.name} (pid {child.proc.pid}) on hosts "
                f"{', '.join(map(str, sorted(released)))}")
