"""Checks on a libvirt URI, before anything is sent anywhere. No libvirt import: models use it."""

import re
from urllib.parse import parse_qsl, urlsplit

_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]+")
_USERNAME = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")


def validate_uri(uri):
    """Return an error message for a URI kvmweb cannot use, or None."""
    parts = urlsplit(uri)
    if parts.scheme not in ("qemu", "qemu+ssh"):
        return "use qemu+ssh://user@host/system for a remote host or qemu:///system for this one"
    if parts.path not in ("/system",):
        return "the path must be /system (kvmweb manages system-wide networks)"
    if parts.scheme == "qemu+ssh" and not parts.hostname:
        return "qemu+ssh needs a host: qemu+ssh://root@HOST/system"
    if parts.scheme == "qemu" and parts.hostname:
        return "a remote host needs qemu+ssh://, not qemu://"
    if parts.fragment:
        return "the URI must not have a #fragment"
    try:
        parts.port
    except ValueError:
        return "the port is not a number"
    if parts.hostname and not _HOSTNAME.fullmatch(parts.hostname):
        return "the host name has characters a host name cannot have"
    if parts.username is not None and not _USERNAME.fullmatch(parts.username):
        return "the SSH user name has characters a user name cannot have"
    if parts.password is not None:
        return "do not put a password in the URI; kvmweb logs in with its SSH key"
    allowed = {"socket", "proxy", "mode"}
    bad = [k for k, _ in parse_qsl(parts.query) if k not in allowed]
    if bad:
        return f"URI parameter(s) not allowed here: {', '.join(bad)}"
    return None
