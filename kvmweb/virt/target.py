"""What the virt layer needs to know to reach one host; built from a Host row by the caller."""

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class HostTarget:
    uri: str  # as the user gave it, e.g. qemu+ssh://root@10.0.0.5/system or qemu:///system
    host_key: str = ""  # the pinned "ssh-ed25519 AAAA…" line (public, not a secret)
    key_path: str = ""  # private key file; empty: the app's own key

    @property
    def parts(self):
        return urlsplit(self.uri)

    @property
    def is_local(self):
        return not self.parts.hostname

    @property
    def address(self):
        return self.parts.hostname or ""

    @property
    def port(self):
        return self.parts.port or 22

    @property
    def user(self):
        return self.parts.username or "root"

    @property
    def known_hosts_name(self):
        """The name ssh looks up in known_hosts for this address and port."""
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"
