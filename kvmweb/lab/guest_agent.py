"""Debian's qemu-guest-agent for the tiny Linux: the binary and exactly the shared libraries it
loads, taken from the .debs of its dependencies (apt-get download, never this machine's own
files: the guest must not depend on what happens to be installed here).

``agent_files(fetch)`` walks the ELF ``NEEDED`` entries (``readelf -d``) from ``qemu-ga``
through every library it pulls in, downloading a dependency package only while a library is
still missing, and returns ``{path in the initramfs: file to copy}``. When a library is in
none of the packages it names the library and the packages it searched.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

from ._sys import LabError, run

AGENT_PKG = "qemu-guest-agent"
AGENT_BIN = "usr/sbin/qemu-ga"
LIB_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "lib", "usr/lib")
GUEST_LIB_DIR = "lib/x86_64-linux-gnu"
_NEEDED = re.compile(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]")
_INTERP = re.compile(r"Requesting program interpreter: ([^\]]+)\]")


def _readelf(flag: str, path: Path) -> str:
    try:
        return run(["readelf", "-W", flag, path], timeout=60).stdout
    except FileNotFoundError as exc:
        raise LabError("readelf is missing (Debian package binutils): it finds the shared "
                       "libraries qemu-guest-agent needs") from exc


def needed(path: Path) -> list[str]:
    return _NEEDED.findall(_readelf("-d", path))


def interpreter(path: Path) -> str | None:
    m = _INTERP.search(_readelf("-l", path))
    return m.group(1).strip() if m else None


def _depends(pkg: str) -> list[str]:
    """Direct Depends/PreDepends of a package that are libraries (lib*): the packages a
    missing shared library can come from."""
    out = run(["apt-cache", "depends", pkg], timeout=60).stdout
    names = re.findall(r"^\s*(?:Pre)?Depends:\s*<?([A-Za-z0-9.+-]+)", out, re.M)
    return [n for n in names if n.startswith("lib")]


def _real_file(root: Path, rel: Path) -> Path | None:
    """Follow symlinks inside an extracted package (absolute targets are package-relative)."""
    path = root / rel
    for _ in range(20):
        if not os.path.lexists(path):
            return None
        if not path.is_symlink():
            return path
        target = os.readlink(path)
        path = (root / target.lstrip("/")) if target.startswith("/") else (path.parent / target)
    return None


def _find(roots: dict[str, Path], soname: str) -> Path | None:
    for root in roots.values():
        for d in LIB_DIRS:
            hit = _real_file(root, Path(d) / soname)
            if hit is not None:
                return hit
    return None


def agent_files(fetch: Callable[[str], Path]) -> dict[str, Path]:
    """``fetch(pkg)`` downloads and extracts a Debian package, returning its root."""
    roots = {AGENT_PKG: fetch(AGENT_PKG)}
    binary = roots[AGENT_PKG] / AGENT_BIN
    if not binary.is_file():
        raise LabError(f"{AGENT_PKG} has no {AGENT_BIN}")
    files: dict[str, Path] = {AGENT_BIN: binary}
    interp = interpreter(binary)
    wanted = list(needed(binary))
    if interp:
        wanted.append(Path(interp).name)
    found: dict[str, Path] = {}
    candidates = _depends(AGENT_PKG)
    while wanted:
        soname = wanted.pop(0)
        if soname in found:
            continue
        hit = _find(roots, soname)
        while hit is None and candidates:
            pkg = candidates.pop(0)
            if pkg in roots:
                continue
            roots[pkg] = fetch(pkg)
            candidates += [d for d in _depends(pkg) if d not in roots and d not in candidates]
            hit = _find(roots, soname)
        if hit is None:
            raise LabError(f"qemu-ga needs {soname}, which none of the packages searched "
                           f"({', '.join(sorted(roots))}) contains")
        found[soname] = hit
        wanted += [n for n in needed(hit) if n not in found]
    for soname, path in found.items():
        files[f"{GUEST_LIB_DIR}/{soname}"] = path
    if interp:
        files[interp.lstrip("/")] = found[Path(interp).name]
    return files


__all__ = ["agent_files", "needed", "interpreter", "AGENT_PKG"]
