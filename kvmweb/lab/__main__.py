"""CLI: python -m kvmweb.lab {create,teardown,status,exec}."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from ._sys import LabError, pid_alive
from .guests import build_tiny_linux
from .hosts import DEFAULT_STATE_DIR, create_lab, lab_exec, load_lab, teardown_lab


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m kvmweb.lab",
                                description="Real libvirt hosts in namespaces, over qemu+ssh.")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--prefix", default="kvmlab")
        sp.add_argument("--state-dir", default=DEFAULT_STATE_DIR)

    c = sub.add_parser("create", help="create (or reuse) N hosts; print lab.json")
    c.add_argument("--hosts", type=int, required=True)
    c.add_argument("--authorized-key", action="append", required=True, metavar="FILE",
                   help="public key file (repeatable; may hold several keys)")
    c.add_argument("--subnet", default="10.77.0.0/24")
    c.add_argument("--no-guests", action="store_true", help="do not start the pxe1 guests")
    c.add_argument("--tiny-linux", metavar="CACHE_DIR",
                   help="build the tiny Linux there and put it on every host (pool lab-boot)")
    common(c)
    t = sub.add_parser("teardown", help="stop and remove the lab")
    common(t)
    s = sub.add_parser("status", help="show hosts and whether their daemons run")
    common(s)
    e = sub.add_parser("exec", help="run a command in a host's namespaces")
    e.add_argument("host", type=int, metavar="HOST_INDEX")
    common(e)
    return p


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in argv:  # everything after the first "--" is the command for `exec`
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1:]
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "create":
            keys = []
            for f in args.authorized_key:
                keys += [ln for ln in Path(f).read_text().splitlines()
                         if ln.strip() and not ln.lstrip().startswith("#")]
            boot = build_tiny_linux(args.tiny_linux) if args.tiny_linux else None
            create_lab(args.hosts, keys, prefix=args.prefix, subnet=args.subnet,
                       state_dir=args.state_dir, guests=() if args.no_guests else ("pxe",),
                       boot=boot)
            sys.stdout.write((Path(args.state_dir) / args.prefix / "lab.json").read_text())
        elif args.cmd == "teardown":
            teardown_lab(args.prefix, args.state_dir)
        elif args.cmd == "status":
            hosts = load_lab(args.prefix, args.state_dir, check=False)
            out = []
            for h in hosts:
                d = dataclasses.asdict(h)
                d["libvirtd_running"] = pid_alive(h.libvirtd_pid, "libvirtd", h.netns)
                d["sshd_running"] = pid_alive(h.sshd_pid, "sshd", h.netns)
                out.append(d)
            print(json.dumps(out, indent=2))
            return 0 if all(d["libvirtd_running"] and d["sshd_running"] for d in out) else 1
        elif args.cmd == "exec":
            cmd = command
            if not cmd:
                print("exec: no command given", file=sys.stderr)
                return 2
            proc = lab_exec(args.host, cmd, prefix=args.prefix, state_dir=args.state_dir,
                            capture_output=False, timeout=None)
            return proc.returncode
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
