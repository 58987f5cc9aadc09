"""Kinds of objects whose drift kvmweb tracks, and what became of a drift."""

NETWORK = "network"
DOMAIN = "domain"
KINDS = [(NETWORK, "network"), (DOMAIN, "VM")]

OPEN = "open"
ACCEPTED = "accepted"      # the host's version was adopted as kvmweb's
REAPPLIED = "reapplied"    # kvmweb's version is back on the host (after a re-apply)
GONE = "gone"              # the host came back to kvmweb's version by itself, or the object went
STATUSES = [(OPEN, "open"), (ACCEPTED, "accepted"), (REAPPLIED, "re-applied"), (GONE, "gone")]
