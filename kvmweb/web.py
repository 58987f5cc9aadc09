"""The web server as ./run starts it: ``python -m kvmweb.web <daphne arguments>``.

daphne, with a bound on stopping. A daphne was seen ignoring SIGTERM for over 6 minutes (after
a watcher crash, with pages and consoles open). Not reproduced here: daphne with a logged-in
websocket, and a process holding a libvirt serial console stream (libvirtd paused or not), each
exit within a second or two. What can keep daphne from exiting after SIGTERM, both unbounded:
- its shutdown waits for every cancelled consumer to finish its cleanup (``finally`` blocks that
  await the database, Redis, or a console's teardown), with no time limit;
- after the reactor stops, the interpreter finalizes: it joins every non-daemon thread (the
  thread pools that run sync code for consumers: one stuck in a call never returns) and closes
  libvirt connections and streams from ``__del__`` while libvirt's event-loop thread, a daemon
  thread, is frozen by finalization.
So: once the reactor has stopped the process exits at once (``os._exit``: consumers have
already ended their console sessions; nothing is left worth finalizing), and a shutdown still
going after ``STOP_SECONDS`` ends the process anyway. ./run's supervisor sends SIGKILL after 9 s
as the last resort (a main thread blocked in C never runs a Python signal handler).
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
