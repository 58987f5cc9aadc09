"""Keep kvmweb's processes running: ``python -m kvmweb.supervise`` (started by ``./run``).

Starts the Celery operations worker, the background worker, beat, the watcher and daphne, each
in its own session (a terminal's Ctrl-C reaches only this supervisor, which stops them in order).
A child that exits for any reason is restarted at once (after a short pause if it keeps dying
right after starting, never more than 4 s), with a log line that names it and its exit status.
Only SIGTERM or SIGINT stops everything: each child gets SIGTERM, and whatever is still there
9 s later gets SIGKILL, so every child is gone within 10 s.

Plain standard library, no Django: this process must start fast and never be the one that fails.
"""

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE = 9.0  # seconds between SIGTERM and SIGKILL on stop (the guarantee is 10 s)
QUICK_DEATH = 5.0  # a child that dies sooner than this after starting is restarted with a pause
MAX_PAUSE = 4.0  # ... of at most this long, so a crashed child is back within 5 s
SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


LOG_FILE = None  # also written here (--log-file), besides stdout (./run's terminal)


def _child_setup():
    """In the child, before exec: no blocked signals (the supervisor blocks the ones it waits
    for), and SIGTERM when the supervisor dies, however it dies (Linux PR_SET_PDEATHSIG): a
    killed supervisor never leaves its children running unsupervised."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def log(message):
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} supervise: {message}"
    print(line, flush=True)
    if LOG_FILE:
        with open(LOG_FILE, "a") as out:
            out.write(line + "\n")


def describe(status):
    """A waitpid status in words: 'exit status 1', 'killed by SIGKILL'."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by {name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def children(args):
    """(name, argv, log file) of every process kvmweb needs."""
    bin_dir = Path(sys.executable).parent
    celery = [str(bin_dir / "celery"), "-A", "kvmweb"]
    queue = args.queue
    return [
        # Two worker pools (threads: a task waiting on a slow host costs one thread, not a
        # process): users' operations on the default queue, health checks and syncs on its
        # .background queue, so slow or dead hosts never delay anyone's change.
        ("ops worker", celery + ["worker", "-n", "ops@%h", "-Q", queue, "-P", "threads",
                                 "-c", str(args.workers), "--loglevel", "INFO"], "worker.log"),
        ("background worker", celery + ["worker", "-n", "background@%h", "-Q", f"{queue}.background",
                                        "-P", "threads", "-c", str(args.background_workers),
                                        "--loglevel", "INFO"], "background.log"),
        # Beat also runs the operations reaper.
        ("beat", celery + ["beat", "--loglevel", "INFO", "--schedule",
                           str(Path(args.state_dir) / "celerybeat-schedule")], "beat.log"),
        ("watcher", [sys.executable, str(ROOT / "manage.py"), "watcher"], "watcher.log"),
        # daphne, through kvmweb.web: it exits within seconds of SIGTERM (see there why).
        ("web", [sys.executable, "-m", "kvmweb.web", "-b", args.bind, "-p", str(args.port),
                 "kvmweb.asgi:application"], "web.log"),
    ]


class Child:
    def __init__(self, name, argv, log_path):
        self.name, self.argv, self.log_path = name, argv, log_path
        self.proc = None
        self.started = 0.0
        self.quick_deaths = 0
        self.restart_at = None  # monotonic time of a pending restart

    def start(self):
        out = open(self.log_path, "ab") if self.log_path else None  # None: the supervisor's
        try:
            self.proc = subprocess.Popen(
                self.argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: signalled (and killed) whole
                preexec_fn=_child_setup)
        finally:
            if out is not None:
                out.close()
        self.started = time.monotonic()
        self.restart_at = None
        return self.proc.pid

    def signal(self, sig):
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass


class Supervisor:
    """Runs ``specs`` ([(name, argv, log file or None)]) until SIGTERM/SIGINT; subclasses may
    act on a child's death in ``exited`` (e.g. the watcher releases the dead one's claims)."""

    def __init__(self, specs, log_dir=None, grace=STOP_GRACE):
        self.grace = grace
        self.children = [Child(name, argv, Path(log_dir) / logfile if logfile else None)
                         for name, argv, logfile in specs]

    def exited(self, child, status):
        """Called when ``child`` died, before it is restarted."""

    def reap(self):
        """Collect every child that exited; returns [(child, status)]."""
        ended = []
        for child in self.children:
            if child.proc is None or child.proc.returncode is not None:
                continue
            try:
                pid, status = os.waitpid(child.proc.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = child.proc.pid, 0
            if pid:
                child.proc.returncode = os.waitstatus_to_exitcode(status)
                ended.append((child, status))
        return ended

    def schedule_restart(self, child, status):
        now = time.monotonic()
        lived = now - child.started
        child.quick_deaths = child.quick_deaths + 1 if lived < QUICK_DEATH else 0
        pause = min(MAX_PAUSE, 0.5 * (2 ** (child.quick_deaths - 1))) if child.quick_deaths else 0.0
        log(f"{child.name} (pid {child.proc.pid}) exited ({describe(status)}) after "
            f"{lived:.1f} s; restarting" + (f" in {pause:.1f} s" if pause else ""))
        child.restart_at = now + pause

    def run(self):
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        parent = os.getppid()
        for child in self.children:
            pid = child.start()
            log(f"started {child.name} as pid {pid}" + (f" (log {child.log_path})"
                                                        if child.log_path else ""))
        while True:
            now = time.monotonic()
            due = [c.restart_at for c in self.children if c.restart_at is not None]
            # At least once a second: a supervisor whose parent (./run) died stops too.
            timeout = min(1.0, max(0.0, min(due) - now)) if due else 1.0
            info = signal.sigtimedwait(SIGNALS, timeout)
            if info is not None and info.si_signo != signal.SIGCHLD:
                self.stop(signal.Signals(info.si_signo).name)
                return 0
            if os.getppid() != parent:
                self.stop(f"parent process {parent} gone")
                return 0
            for child, status in self.reap():
                self.schedule_restart(child, status)
                try:
                    self.exited(child, status)
                except Exception as exc:  # noqa: BLE001 - restarting matters more
                    log(f"after {child.name} exited: {exc!r}")
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is not None and child.restart_at <= now:
                    old = child.proc.pid
                    log(f"restarted {child.name} as pid {child.start()} (was pid {old})")

    def stop(self, why):
        log(f"{why}: stopping every child (SIGTERM, SIGKILL after {self.grace:.0f} s)")
        for child in self.children:
            child.restart_at = None
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while any(c.proc is not None and c.proc.returncode is None for c in self.children):
            left = deadline - time.monotonic()
            if left <= 0:
                for child in self.children:
                    if child.proc.returncode is None:
                        log(f"{child.name} (pid {child.proc.pid}) ignored SIGTERM for "
                            f"{self.grace:.0f} s: SIGKILL")
                        child.signal(signal.SIGKILL)
                        child.proc.wait()
                break
            signal.sigtimedwait({signal.SIGCHLD}, min(left, 0.5))
            for child, status in self.reap():
                log(f"{child.name} (pid {child.proc.pid}) stopped: {describe(status)}")
        for child in self.children:
            child.signal(signal.SIGKILL)  # whatever a child left in its process group
        log("all stopped")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("KVMWEB_PORT", 8000)))
    parser.add_argument("--bind", default=os.environ.get("KVMWEB_BIND", "127.0.0.1"))
    parser.add_argument("--queue", default=os.environ.get("CELERY_QUEUE", "kvmweb"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("KVMWEB_WORKERS", 8)))
    parser.add_argument("--background-workers", type=int,
                        default=int(os.environ.get("KVMWEB_BACKGROUND_WORKERS", 16)))
    state = os.environ.get("KVMWEB_STATE_DIR", str(ROOT / "var"))
    parser.add_argument("--state-dir", default=state)
    parser.add_argument("--log-dir", default=str(Path(state) / "log"))
    parser.add_argument("--log-file", help="where the supervisor's own lines go too")
    args = parser.parse_args(argv)
    Path(args.log_dir).mkdir(parents=True, exist_ok=True)
    global LOG_FILE
    LOG_FILE = args.log_file
    return Supervisor(children(args), args.log_dir).run()


if __name__ == "__main__":
    sys.exit(main())
