"""Value kinds: conversion between document text and typed Python values."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable

from .safe import XMLError

__all__ = ["Kind", "string", "integer", "hex_integer", "bool_yesno", "bool_onoff",
           "ip_address", "mac_address", "present"]


# ---------------------------------------------------------------------------
# Value kinds
# ---------------------------------------------------------------------------

class Kind:
    """Converts between document text and a Python value."""

    presence = False

    def __init__(self, name: str, parse: Callable[[str], Any], fmt: Callable[[Any], str]):
        self.name, self._parse, self._fmt = name, parse, fmt

    def parse(self, text: str | None, where: str) -> Any:
        if text is None:
            return None
        try:
            return self._parse(text)
        except (ValueError, TypeError) as exc:
            raise XMLError(f"{where}: cannot read {text!r} as {self.name}: {exc}") from None

    def format(self, value: Any, where: str) -> str:
        try:
            return self._fmt(value)
        except (ValueError, TypeError) as exc:
            raise XMLError(f"{where}: cannot store {value!r} as {self.name}: {exc}") from None

    def __repr__(self) -> str:
        return f"<Kind {self.name}>"


def _parse_int(text: str) -> int:
    text = text.strip()
    if text.lower().startswith(("0x", "-0x")):
        return int(text, 16)
    return int(text, 10)


def _format_int(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError("an integer is required")
    return str(_parse_int(value) if isinstance(value, str) else value)


def _bool_kind(name: str, true: str, false: str) -> Kind:
    def parse(text: str) -> bool:
        if text == true:
            return True
        if text == false:
            return False
        raise ValueError(f"expected {true!r} or {false!r}")

    def fmt(value: Any) -> str:
        if isinstance(value, str) and value in (true, false):
            return value
        if not isinstance(value, bool):
            raise TypeError("a bool is required")
        return true if value else false

    return Kind(name, parse, fmt)


_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _norm_mac(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a MAC address string is required")
    mac = value.strip().lower().replace("-", ":")
    if not _MAC_RE.match(mac):
        raise ValueError("not a MAC address like 52:54:00:12:34:56")
    return mac


def _format_ip(value: Any) -> str:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if not isinstance(value, str):
        raise TypeError("an IP address is required")
    return str(ipaddress.ip_address(value.strip()))


def _format_str(value: Any) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise TypeError("a string is required")
    return str(value)


def hex_integer(width: int) -> Kind:
    """Integer written as zero-padded hex, libvirt's PCI spelling (``0x04``); reads any base."""

    def fmt(value: Any) -> str:
        number = _parse_int(_format_int(value))
        if number < 0:
            raise ValueError("must not be negative")
        return f"0x{number:0{width}x}"

    return Kind(f"hex integer ({width} digits)", _parse_int, fmt)


string = Kind("string", str, _format_str)
integer = Kind("integer", _parse_int, _format_int)
bool_yesno = _bool_kind("yes/no", "yes", "no")
bool_onoff = _bool_kind("on/off", "on", "off")
ip_address = Kind("IP address", lambda t: ipaddress.ip_address(t.strip()), _format_ip)
mac_address = Kind("MAC address", lambda t: t.strip().lower(), _norm_mac)


class _PresenceKind(Kind):
    """An element whose mere presence means True (``<features><acpi/>``)."""

    presence = True


present = _PresenceKind("presence", bool, lambda v: "")
