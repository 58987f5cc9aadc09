"""Signals other apps listen to, so the hosts app never imports them (no sideways imports).

``read_model_changed(sender, host_pk, reason)`` is sent after a host's read model (networks,
leases, domains, NICs, host interfaces) was changed in the database — by a sync, by the
watcher's netlink events, or by an operation that stored its result. Receivers (e.g. the
topology, which pushes a delta to browsers) must be quick and must never talk to a host.
"""

from django.dispatch import Signal

read_model_changed = Signal()


def announce(host_pk, reason):
    """Tell receivers that a host's read model changed; a failing receiver never fails the caller."""
    read_model_changed.send_robust(sender=None, host_pk=host_pk, reason=reason)
