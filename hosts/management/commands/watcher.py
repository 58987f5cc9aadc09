import signal

from django.core.management.base import BaseCommand

from hosts.watcher import Watcher


class Command(BaseCommand):
    help = "Watch every host for libvirt events and lost connections (run one or more)."

    def handle(self, *args, **options):
        watcher = Watcher()

        def stop(*_):
            watcher.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        watcher.run()
