"""The one error type kvmweb/virt raises."""


class VirtError(Exception):
    """A host could not do what was asked.

    ``code`` names the cause in a word the UI can act on; ``retryable`` says whether trying
    again later can help (a host that is down may come back; a refused key will not).
    """

    UNKNOWN_HOST = "unknown_host"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    AUTH = "auth"
    HOST_KEY_CHANGED = "host_key_changed"
    HOST_KEY_UNKNOWN = "host_key_unknown"
    LIBVIRT_DOWN = "libvirt_down"
    LIBVIRT = "libvirt"
    INVALID = "invalid"
    REMOTE = "remote"

    RETRYABLE = {UNKNOWN_HOST, REFUSED, TIMEOUT, LIBVIRT_DOWN, REMOTE}

    def __init__(self, message, code=LIBVIRT, retryable=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = code in self.RETRYABLE if retryable is None else retryable

    def __str__(self):
        return self.message


# Substrings of ssh / libvirt messages, in the order they are tested, and what they mean.
_CAUSES = [
    ("REMOTE HOST IDENTIFICATION HAS CHANGED", VirtError.HOST_KEY_CHANGED,
     "the host's SSH key is not the pinned one (host key changed); an admin must re-pin it"),
    ("Host key verification failed", VirtError.HOST_KEY_CHANGED,
     "the host's SSH key does not match the pinned key; an admin must re-pin it"),
    ("No ED25519 host key is known", VirtError.HOST_KEY_UNKNOWN, "no host key is pinned for this host"),
    ("Permission denied", VirtError.AUTH,
     "SSH login refused: add kvmweb's public key to the host's authorized_keys"),
    ("Could not resolve hostname", VirtError.UNKNOWN_HOST, "unknown host: the name does not resolve"),
    ("Name or service not known", VirtError.UNKNOWN_HOST, "unknown host: the name does not resolve"),
    ("Connection refused", VirtError.REFUSED, "connection refused (is sshd running on that port?)"),
    ("No route to host", VirtError.TIMEOUT, "no route to host"),
    ("timed out", VirtError.TIMEOUT, "the host did not answer in time"),
    ("libvirt-sock", VirtError.LIBVIRT_DOWN, "libvirtd is not running on the host"),
    ("virt-ssh-helper", VirtError.LIBVIRT_DOWN, "libvirtd is not running on the host"),
    ("End of file while reading data", VirtError.REMOTE, "the SSH connection to the host closed"),
    # A connection that died under a running call (libvirtd restarted, the path cut): a new
    # connection may well work, so these are worth a retry.
    ("keepalive timeout", VirtError.TIMEOUT, "the host stopped answering (keepalive timeout)"),
    ("client socket is closed", VirtError.REMOTE, "the connection to libvirtd closed"),
    ("Cannot recv data", VirtError.REMOTE, "the connection to libvirtd broke"),
    ("Cannot write data", VirtError.REMOTE, "the connection to libvirtd broke"),
    ("Connection reset by peer", VirtError.REMOTE, "the connection to libvirtd broke"),
]


def classify(message):
    """Turn a raw ssh/libvirt message into a VirtError with a cause users understand."""
    for needle, code, human in _CAUSES:
        if needle in message:
            return VirtError(f"{human} ({message.strip()[:300]})", code)
    return VirtError(message.strip()[:500] or "unknown libvirt error", VirtError.LIBVIRT)
