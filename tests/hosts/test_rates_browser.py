"""In Chromium: a rate graph with no sample or a single one spans the last minute, with times of
day on its axis (uPlot widened a zero-wide time scale by years: "2027 … 2029"); a graph with a
longer history spans it as before."""

import re
import time

import pytest

from hosts import rates
from tests.conftest import login
from tests.teams.conftest import _fresh_rate_limits, world  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?\s*(am|pm)?$", re.I)


def _axis(page, points):
    """(x min, x max, the x tick labels drawn) once the graph holds ``points`` samples."""
    page.wait_for_function(
        "n => { const g = window.kvmwebRates && window.kvmwebRates.graphs[0];"
        " return g && Number(g.el.dataset.points || 0) === n && g.plot.scales.x.min != null; }",
        arg=points)
    return page.evaluate("""() => new Promise((done) => requestAnimationFrame(() => {
        const p = window.kvmwebRates.graphs[0].plot;
        done([p.scales.x.min, p.scales.x.max, p.axes[0]._values || []]);
    }))""")


def test_a_graph_with_few_samples_spans_the_last_minute_in_times_of_day(world, asgi_server,
                                                                       browser):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, asgi_server, "staff", "staff-pass-123")
    host = world.host.pk
    rates.client().delete(f"kvmweb:rates:{host}")  # Redis outlives the test database

    page.goto(f"{asgi_server}/hostnet/{host}/?iface=br0")  # nothing recorded for br0
    low, high, labels = _axis(page, 0)
    assert high - low == pytest.approx(60, abs=1) and abs(high - time.time()) < 120
    assert labels and all(TIME_OF_DAY.match(v) for v in labels), labels

    t = round(time.time() - 150, 3)  # as stored; the later samples stay in the past
    rates.record(host, t, {"eth0": [1500.0, 300.0]})
    page.goto(f"{asgi_server}/hostnet/{host}/?iface=eth0")
    low, high, labels = _axis(page, 1)
    assert (low, high) == (pytest.approx(t - 60, abs=0.01), pytest.approx(t, abs=0.01))
    assert labels and all(TIME_OF_DAY.match(v) for v in labels), labels

    for i in range(1, 5):  # two more minutes of history: the axis spans it, as before
        rates.record(host, t + 30 * i, {"eth0": [1000.0, 200.0]})
    page.goto(f"{asgi_server}/hostnet/{host}/?iface=eth0")
    low, high, labels = _axis(page, 5)
    assert (low, high) == (pytest.approx(t, abs=0.01), pytest.approx(t + 120, abs=0.01))
    assert not errors
    page.close()
