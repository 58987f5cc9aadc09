"""A host in the database with the lab's classic wiring (for DB, API and consumer tests)."""

import pytest

from topology_fixtures import MAC, store_classic_host


@pytest.fixture
def host(db):
    return store_classic_host("kvm1", "10.79.1.11")


__all__ = ["MAC"]
