"""Helpers shared by the tests/xml suite (imported by module name)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from lxml import etree

from kvmweb.virt.xml.base import safe_parse

DATA = Path(__file__).parent / "data"

# descriptor -> {"get", "set"}; filled by the recorder conftest.py installs.
ACCESS: dict[object, set[str]] = defaultdict(set)


def record(desc: object, op: str) -> None:
    ACCESS[desc].add(op)


def data_files(prefix: str) -> list[Path]:
    return sorted(DATA.glob(f"{prefix}-*.xml"))


def read(name: str) -> str:
    return (DATA / name).read_text()


def canon(text: str) -> str:
    """Canonical XML with insignificant whitespace removed, for comparisons."""
    root = safe_parse(text)
    for el in root.iter():
        if el.text is not None and not el.text.strip() and len(el):
            el.text = None
        el.tail = None
    return etree.tostring(root, method="c14n").decode()


_INDEX = re.compile(r"^(\w+)\[(-?\d+)\]$")


def resolve(obj: object, dotted: str) -> object:
    """Follow 'ips[0].dhcp.hosts[1].mac' from obj."""
    for part in dotted.split("."):
        m = _INDEX.match(part)
        if m:
            obj = getattr(obj, m.group(1))[int(m.group(2))]
        else:
            obj = getattr(obj, part)
    return obj
