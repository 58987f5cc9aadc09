"""A scaled-out kvmweb on this machine, as tests/scaleout and bench/scaleout_bench.py run it:
two web processes (daphne) behind the shipped nginx site (deploy/nginx/kvmweb.conf) over
https, two operations workers, two background workers, beat (the operations reaper) and two
watchers, all on one database and one Redis, on a private Celery queue.

Processes are started without a shell and in their own sessions, and killed by pid."""

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import requests
import urllib3

from tests.conftest import ROOT, free_port, start_worker, worker_ready
from tests.deploy.nginx_site import NGINX, render_site, self_signed_cert, write_conf

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # our throw-away cert

# Short beats, as the fault suite uses: a dead worker's operation is resumed after 4 s.
FAST = {"KVMWEB_HEARTBEAT": "1", "KVMWEB_HEARTBEAT_STALE": "4", "KVMWEB_LOCK_LEASE": "3",
        "KVMWEB_REAP_INTERVAL": "1", "KVMWEB_REQUEUE_AFTER": "8"}


def wait_port(port, proc, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited: {Path(log).read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"port {port} not open after {timeout} s: {Path(log).read_text()[-3000:]}")


class Cluster:
    def __init__(self, tmp, database_url):
        self.tmp = Path(tmp)
        self.queue = f"kvmweb-scale-{os.getpid()}"
        self.env = {**os.environ, **FAST, "DATABASE_URL": database_url, "CELERY_QUEUE": self.queue}
        self.procs = {}  # name -> Popen
        self.web_ports = {}  # name -> port
        self.killed = []

    def _spawn(self, name, argv):
        log = self.tmp / f"{name}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        proc.log = log
        self.procs[name] = proc
        return proc

    def start(self):
        for name in ("web1", "web2"):
            port = self.web_ports[name] = free_port()
            self._spawn(name, [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "--access-log", str(self.tmp / f"{name}.access.log"),
                               "kvmweb.asgi:application"])
        workers = []
        for name in ("ops1", "ops2"):
            workers.append(start_worker([self.queue], self.tmp / f"{name}.log", concurrency=4,
                                        name=f"{self.queue}-{name}", env=self.env, wait=False))
            self.procs[name] = workers[-1]
        for name in ("bg1", "bg2"):
            workers.append(start_worker([f"{self.queue}.background"], self.tmp / f"{name}.log",
                                        concurrency=4, name=f"{self.queue}-{name}", env=self.env,
                                        wait=False))
            self.procs[name] = workers[-1]
        self._spawn("beat", [sys.executable, "-m", "celery", "-A", "kvmweb", "beat", "--loglevel",
                             "INFO", "--schedule", str(self.tmp / "beat-schedule")])
        for name in ("watcher1", "watcher2"):
            self._spawn(name, [sys.executable, "manage.py", "watcher"])
        crt, key = self_signed_cert(self.tmp)
        static = self.tmp / "static"
        (static / "kvmweb").mkdir(parents=True, exist_ok=True)
        (static / "kvmweb" / "probe.txt").write_text("served by nginx\n")
        self.https = free_port()
        site = render_site(crt, key, free_port(), self.https, list(self.web_ports.values()), static)
        conf = write_conf(self.tmp / "nginx", site)
        self._spawn("nginx", [NGINX, "-p", str(self.tmp / "nginx"), "-e",
                              str(self.tmp / "nginx" / "logs" / "error.log"), "-c", str(conf),
                              "-g", "daemon off;"])
        for name, port in self.web_ports.items():
            wait_port(port, self.procs[name], self.procs[name].log)
        wait_port(self.https, self.procs["nginx"], self.tmp / "nginx" / "logs" / "error.log")
        for proc in workers:
            worker_ready(proc, timeout=90)
        self.url = f"https://127.0.0.1:{self.https}"
        return self

    def kill(self, name):
        """SIGKILL a process by its pid, as the OOM killer would: only that process (a
        supervising watcher's children get SIGTERM from the kernel when it dies, and the rest
        of its session is killed at stop())."""
        proc = self.procs.pop(name)
        self.killed.append(proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return time.monotonic()

    def stop(self):
        for proc in self.killed:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # whatever of its session is left
            except ProcessLookupError:
                pass
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 8  # daphne with an open console stream may linger
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def watcher_pids(self):
        return {name: p.pid for name, p in self.procs.items() if name.startswith("watcher")}

    def watcher_of(self, claim):
        """Which of our watchers holds a claim (value host:pid): the pid is the watcher's, or on
        a supervising watcher one of its children's."""
        if not claim:
            return None
        pid = int(claim.decode().rsplit(":", 1)[1])
        for name, wpid in self.watcher_pids().items():
            if pid == wpid or _parent(pid) == wpid:
                return name
        return None

    # -- through nginx

    def session(self, token):
        s = requests.Session()
        s.verify = False
        s.trust_env = False  # else a CA bundle from the environment overrides verify=False
        s.headers["Authorization"] = f"Token {token}"
        return s

    def login(self, web, username, password):
        """Sign ``web`` in through the login page (the session cookie websockets need)."""
        page = web.get(f"{self.url}/login/")
        response = web.post(f"{self.url}/login/", data={
            "username": username, "password": password,
            "csrfmiddlewaretoken": web.cookies["csrftoken"]},
            headers={"Referer": f"{self.url}/login/"}, allow_redirects=False)
        assert page.status_code == 200 and response.status_code == 302, response.text[:2000]
        return "; ".join(f"{k}={v}" for k, v in web.cookies.items())

    def websocket(self, path, cookie=""):
        """Open a websocket through nginx (TLS); returns the HTTP status line's code and the
        socket (closed by the caller)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.https), timeout=30),
                               server_hostname="localhost")
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      f"Origin: https://localhost\r\nSec-WebSocket-Version: 13\r\nCookie: {cookie}\r\n"
                      "\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
        return int(head.split(b" ", 2)[1]), sock

    def served_by(self, needle):
        """Web processes whose access log mentions ``needle``."""
        return sorted(name for name in ("web1", "web2")
                      if needle in _read(self.tmp / f"{name}.access.log"))


def _read(path):
    try:
        return Path(path).read_text()
    except FileNotFoundError:
        return ""


def _parent(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except FileNotFoundError:
        return None
    return None


def dump(obj):
    return json.dumps(obj, indent=1, default=str)
