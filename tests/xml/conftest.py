import pytest

import xml_testutil
from kvmweb.virt.xml import base


@pytest.fixture(autouse=True, scope="session")
def _record_xml_property_access():
    base.set_access_recorder(xml_testutil.record)
    yield
    base.set_access_recorder(None)
