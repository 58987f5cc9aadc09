"""Signals other apps listen to, so the hosts app never imports them (no sideways imports).

``read_model_changed(sender, host_pk, reason)`` is sent after a host's read model (networks,
leases, domains, NICs, host interfaces) was changed in the database — by a sync, by the
watcher's netlink events, or by an operation that stored its result. Receivers (e.g. the
topology, which pushes a delta to browsers) must be quick and must never talk to a host.

``definitions_read(sender, host_pk, how, targets)`` is sent after definitions of libvirt objects
were read from the host and stored in the read model: ``targets`` lists the operation targets
read (``network:<name>``, ``domain:<uuid>``; None: every network and domain of the host, a
sync), ``how`` says who could tell ("sync", "watcher: device-added net1", "watcher: network
re-read"). The drift app compares them with what kvmweb last applied or accepted.
"""

import logging

from django.dispatch import Signal

log = logging.getLogger(__name__)

read_model_changed = Signal()
definitions_read = Signal()


def announce(host_pk, reason):
    """Tell receivers that a host's read model changed; a failing receiver never fails the caller."""
    read_model_changed.send_robust(sender=None, host_pk=host_pk, reason=reason)


def definitions_were_read(host_pk, how, targets=None):
    """Tell receivers which definitions were just read; a failing receiver never fails the caller."""
    for _receiver, result in definitions_read.send_robust(sender=None, host_pk=host_pk, how=how,
                                                         targets=targets):
        if isinstance(result, Exception):
            log.error("definitions_read receiver failed: %r", result)
