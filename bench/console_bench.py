"""Serial console: keystroke -> echo round trip through kvmweb, side by side with `virsh console`;
then what 20 concurrent serial consoles cost daphne, side by side with 20 `virsh console`s.

kvmweb's path: a websocket client (this script, like a browser) -> daphne -> the console
consumer -> a libvirt stream on daphne's qemu+ssh connection -> the guest's shell -> back.
virsh's path: `virsh -c <the same qemu+ssh URI> console` driven through a pty.
Each keystroke is one character; the next is sent when its echo came back.

Run as root:  .venv/bin/python bench/console_bench.py [--keys 100] [--consoles 20]
It makes a one-host lab (prefix/subnet from KVMWEB_BENCH_LAB_PREFIX / _SUBNET, default kvcb,
10.73.0.0/24), a private Redis and SQLite database and a daphne, boots a tiny Linux guest with a
shell on ttyS0 and N paused guests (a paused guest still has its serial pty), and removes
everything it started at the end (processes by pid, the lab unless --keep-lab).
"""

import argparse
import json
import os
import pty
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.benchlib import (WebSocket, free_port, pcts, proc_usage,  # noqa: E402
                            with_redis_and_lab)

STATE = tempfile.mkdtemp(prefix="kvmweb-console-bench-")
REDIS_PORT = free_port()
os.environ.update({"KVMWEB_STATE_DIR": STATE, "DJANGO_SETTINGS_MODULE": "kvmweb.settings",
                   "DATABASE_URL": f"sqlite:///{STATE}/bench.sqlite3",
                   "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
                   "KVMWEB_CONSOLE_MAX_PER_VM": "4"})

import django  # noqa: E402

PREFIX = os.environ.get("KVMWEB_BENCH_LAB_PREFIX", "kvcb")
SUBNET = os.environ.get("KVMWEB_BENCH_LAB_SUBNET", "10.73.0.0/24")
GUEST = "conbench"
PROMPT = re.compile(rb"/ # ")


def ticket_path(user, vm):
    from consoles import services

    ticket = services.issue_ticket(user, vm, "serial")
    return f"/ws/console/{vm.pk}/serial/?ticket={ticket}"


def open_console(port, cookie, user, vm):
    ws = WebSocket(port, ticket_path(user, vm), cookie)
    opcode, payload = ws.recv()
    message = json.loads(payload)
    if message.get("type") != "attached":
        raise RuntimeError(f"console refused: {message}")
    return ws


def ws_until(ws, pattern, timeout):
    seen = b""
    deadline = time.monotonic() + timeout
    ws.sock.settimeout(timeout)
    while not pattern.search(seen):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {pattern.pattern!r} in {seen[-300:]!r}")
        opcode, payload = ws.recv()
        if opcode == 2:
            seen += payload
        elif opcode == 8:
            raise EOFError(f"closed: {payload!r}")
    return seen


def pty_until(fd, pattern, timeout):
    seen = b""
    deadline = time.monotonic() + timeout
    while not pattern.search(seen):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {pattern.pattern!r} in {seen[-300:]!r}")
        if select.select([fd], [], [], left)[0]:
            seen += os.read(fd, 65536)
    return seen


def keystrokes_ws(ws, count):
    times = []
    for i in range(count):
        char = "abcdefghijklmnopqrstuvwxyz"[i % 26]
        started = time.perf_counter()
        ws.send_text(json.dumps({"type": "input", "data": char}))
        ws_until(ws, re.compile(char.encode()), 10)
        times.append(time.perf_counter() - started)
    ws.send_text(json.dumps({"type": "input", "data": "\x15\r"}))  # ^U: forget the line
    ws_until(ws, PROMPT, 10)
    return times


def virsh_console(uri, name, force=False):
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("virsh", ["virsh", "-c", uri, "console", name] + (["--force"] if force else []))
    pty_until(fd, re.compile(rb"Escape character"), 60)
    return pid, fd


def keystrokes_virsh(uri, count):
    pid, fd = virsh_console(uri, GUEST, force=True)  # takes it from kvmweb's lingering stream
    os.write(fd, b"\r")
    pty_until(fd, PROMPT, 30)
    times = []
    for i in range(count):
        char = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
        started = time.perf_counter()
        os.write(fd, char)
        pty_until(fd, re.compile(char), 10)
        times.append(time.perf_counter() - started)
    os.write(fd, b"\x15\r")
    pty_until(fd, PROMPT, 10)
    os.write(fd, b"\x1d")  # Ctrl-]: leave virsh console
    os.waitpid(pid, 0)
    os.close(fd)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--consoles", type=int, default=20)
    parser.add_argument("--keep-lab", action="store_true")
    args = parser.parse_args()

    with_redis_and_lab(REDIS_PORT, PREFIX, args.keep_lab, lambda started: run(args, started))


def run(args, started):
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from hosts.models import Host
    from hosts.services import configure_virt, public_key
    from kvmweb.lab import build_tiny_linux, create_lab, lab_exec, tiny_linux_domain_xml
    from kvmweb.virt.connection import connect_uri
    from vms.models import Domain

    call_command("migrate", verbosity=0)
    configure_virt()
    lab_host = create_lab(1, [public_key()], prefix=PREFIX, subnet=SUBNET, guests=())[0]
    virsh = lambda *argv, **kw: lab_exec(lab_host, ["virsh", *argv], prefix=PREFIX,  # noqa: E731
                                         capture_output=True, text=True, **kw)
    kernel, initrd = build_tiny_linux("/var/cache/kvmweb-lab")
    names = [GUEST] + [f"conidle{i:02d}" for i in range(args.consoles)]
    for name in names:
        virsh("destroy", name)
        virsh("undefine", name)
        nics = [{"type": "network", "source": "default"}] if name == GUEST else []
        xml = tiny_linux_domain_xml(name, kernel, initrd, nics, shell=True,
                                    memory_mib=128 if name == GUEST else 32)
        virsh("define", "/dev/stdin", input=xml, check=True)
        virsh("start", name, *(["--paused"] if name != GUEST else []), check=True)

    host = Host.objects.create(name="bench", uri=lab_host.uri, status=Host.Status.ONLINE,
                               host_key=" ".join(lab_host.host_key_pub.split()[:2]))
    vms = {}
    for name in names:
        uuid = virsh("domuuid", name, check=True).stdout.strip()
        vms[name] = Domain.objects.create(host=host, name=name, uuid=uuid, state="running",
                                          xml=virsh("dumpxml", name, check=True).stdout)
    user = get_user_model().objects.create_superuser("bench", "", "bench-pass-123")
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    port = free_port()
    log = open(Path(STATE) / "daphne.log", "w")
    daphne = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "kvmweb.asgi:application"], cwd=ROOT, env=os.environ.copy(),
                              stdout=log, stderr=subprocess.STDOUT)
    started.append(daphne)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            time.sleep(0.1)

    uri = connect_uri(host.target())
    print(f"guest booting; console keystroke round trip over {lab_host.uri}, {args.keys} keys")
    ws = open_console(port, cookie, user, vms[GUEST])
    ws.send_text(json.dumps({"type": "input", "data": "\r"}))
    ws_until(ws, PROMPT, 180)  # the guest booted and its shell answers
    ws.close()
    time.sleep(1)
    theirs = keystrokes_virsh(uri, args.keys)
    ws = open_console(port, cookie, user, vms[GUEST])
    ws.send_text(json.dumps({"type": "input", "data": "\r"}))
    ws_until(ws, PROMPT, 30)
    ours = keystrokes_ws(ws, args.keys)
    ws.close()
    (p50k, p95k), (p50v, p95v) = pcts(ours), pcts(theirs)
    print(f"{'':<34}{'p50':>9}{'p95':>9}")
    print(f"{'kvmweb (websocket, daphne)':<34}{p50k:>7.1f}ms{p95k:>7.1f}ms")
    print(f"{'virsh console (pty)':<34}{p50v:>7.1f}ms{p95v:>7.1f}ms")
    print(f"ratio kvmweb / virsh: p50 {p50k / p50v:.2f}x, p95 {p95k / p95v:.2f}x")

    idle = [vms[n] for n in names[1:]]
    before = proc_usage([daphne.pid])
    t0 = time.monotonic()
    sockets = [open_console(port, cookie, user, vm) for vm in idle]
    opened = time.monotonic() - t0
    after_open = proc_usage([daphne.pid])
    time.sleep(10)
    after_idle = proc_usage([daphne.pid])
    for s in sockets:
        s.close()
    print(f"\n{args.consoles} concurrent serial consoles (paused guests), daphne and its children:")
    print(f"{'':<34}{'RSS':>10}{'threads':>9}{'CPU to open':>13}{'CPU idle 10 s':>15}")
    label = "daphne before (1 lingering stream)"
    print(f"{label:<34}{before[0]:>8.0f}MB{before[2]:>9}")
    print(f"{'daphne, {} consoles'.format(args.consoles):<34}{after_open[0]:>8.0f}MB"
          f"{after_open[2]:>9}{after_open[1] - before[1]:>12.2f}s{after_idle[1] - after_open[1]:>14.2f}s")
    print(f"  (opening all {args.consoles} took {opened:.2f} s; one qemu+ssh connection carries them)")
    time.sleep(2)
    daphne.terminate()  # frees the consoles for virsh
    daphne.wait(10)

    procs = [virsh_console(uri, vm.name) for vm in idle]
    pids = [pid for pid, _ in procs]
    v_open = proc_usage(pids)
    time.sleep(10)
    v_idle = proc_usage(pids)
    print(f"{'{} x virsh console (+ ssh)'.format(args.consoles):<34}{v_open[0]:>8.0f}MB"
          f"{v_open[2]:>9}{'':>13}{v_idle[1] - v_open[1]:>14.2f}s")
    for pid, fd in procs:
        os.write(fd, b"\x1d")
        os.waitpid(pid, 0)
        os.close(fd)
    for name in names:
        virsh("destroy", name)
        virsh("undefine", name)


if __name__ == "__main__":
    main()
