"""The web server as ./run starts it: ``python -m kvmweb.web <daphne arguments>``.

daphne, with two guarantees about stopping. The web process holds libvirt connections and
streams (serial consoles) and libvirt's event-loop thread. On SIGTERM daphne cancels the open
websockets and stops its reactor; then the interpreter used to finalize, closing those libvirt
objects from ``__del__`` while the event-loop thread (a daemon thread, frozen by finalization,
possibly inside libvirt holding its locks) could never answer: the process hung for minutes and
ignored further SIGTERMs. So:
- once the reactor has stopped, the process exits at once (``os._exit``): consumers have already
  ended their console sessions; nothing is left worth finalizing;
- a shutdown that takes longer than ``STOP_SECONDS`` (a consumer stuck in its cleanup) ends the
  process anyway.
"""

import os
import sys
import threading

STOP_SECONDS = 7.0


def _exit_soon():
    def bail():
        sys.stderr.write(f"kvmweb.web: still stopping after {STOP_SECONDS:.0f} s; exiting now\n")
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(STOP_SECONDS, bail)
    timer.daemon = True
    timer.start()


def main(argv):
    from daphne.cli import CommandLineInterface
    from twisted.internet import reactor  # the asyncio reactor daphne.server installed

    reactor.addSystemEventTrigger("before", "shutdown", _exit_soon)
    code = 0
    try:
        CommandLineInterface().run(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - print it, then still skip finalization
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
