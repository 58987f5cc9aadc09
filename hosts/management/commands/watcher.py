import os
import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from hosts.watcher import Watcher
from hosts.watchgroups import WatcherGroups


class Command(BaseCommand):
    help = ("Watch every host for libvirt events and lost connections (run one or more): "
            "KVMWEB_WATCHER_PROCESSES processes, each watching one group of hosts.")

    def add_arguments(self, parser):
        parser.add_argument("--processes", type=int, default=settings.KVMWEB_WATCHER_PROCESSES,
                            help="how many watcher processes (groups of hosts) to run")
        parser.add_argument("--group", type=int, help="be one watcher process: this group")
        parser.add_argument("--groups", type=int, default=1, help="with --group: of how many")

    def handle(self, *args, **options):
        if options["group"] is None:
            WatcherGroups(max(1, options["processes"])).run()
            return
        watcher = Watcher(group=options["group"], groups=options["groups"])

        def stop(*_):
            watcher.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        watcher.run()
        # Exit without finalizing: libvirt objects closed from __del__ while libvirt's event
        # thread is frozen by the interpreter's shutdown can hang the process (see kvmweb.web).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
