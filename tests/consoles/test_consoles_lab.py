"""Consoles of a real guest on a lab host, in real Chromium through daphne.

One tiny Linux guest (created through kvmweb's API, so with kvmweb's default display: VNC on
the host's loopback) with a shell on its serial console (kernel parameter ``kvmweb.shell``).
Checked with what nobody here wrote: virsh, ss on the host, the guest's own output.
"""

import os
import re
import time
from pathlib import Path

import pytest

from consoles.models import ConsoleSession
from tests.conftest import add_lab_host, lab_run, login, wait_for
from tests.vms.conftest import forget_domain, op_ok, refresh, tiny_linux  # noqa: F401 - fixture
from vms.models import Domain

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

NAME = "con1"


@pytest.fixture(scope="module", autouse=True)
def _remove_the_guest_afterwards(lab_hosts):
    yield
    forget_domain(lab_hosts[0], NAME)  # spare the shared CPUs for the modules after this one


def the_guest(admin_api, lab_host, tiny_linux):
    """The host (added and synced) and the guest, created once per lab and left running."""
    host, _ = add_lab_host(admin_api, lab_host)
    vm = Domain.objects.filter(host=host, name=NAME, state="running").first()
    if vm is not None:
        return host, vm
    forget_domain(lab_host, NAME)
    kernel, initrd = tiny_linux
    op_ok(admin_api, admin_api.post("/api/vms/", {
        "host": host.pk, "name": NAME, "memory_mib": 128, "vcpus": 1, "boot": "kernel",
        "kernel": kernel, "initrd": initrd, "cmdline": "console=ttyS0 loglevel=4 kvmweb.shell",
        "domain_type": "qemu", "nics": [{"type": "network", "source": "default"}],
    }, format="json"))
    refresh(admin_api, host)
    return host, Domain.objects.get(host=host, name=NAME)


def terminal_text(frame):
    return frame.evaluate("() => window.kvmwebConsole ? window.kvmwebConsole.text() : ''")


def wait_text(frame, pattern, timeout=90):
    return wait_for(lambda: re.search(pattern, terminal_text(frame), re.M), timeout, 0.3,
                    what=f"{pattern!r} in the terminal")


def console_frame(page, timeout=30):
    """The Console tab's frame once it has loaded the console page. page.frames changes only
    while Playwright is called, so wait with page.wait_for_timeout, never a plain sleep."""
    for _ in range(int(timeout / 0.2)):
        frame = next((f for f in page.frames if "/consoles/" in f.url), None)
        if frame is not None:
            return frame
        page.wait_for_timeout(200)
    raise AssertionError(f"the console frame did not load within {timeout}s")


def test_serial_console_boot_lines_typing_and_a_dropped_websocket(
        admin_api, admin_user, celery_worker, lab_hosts, asgi_server, browser, tiny_linux):
    lab_host = lab_hosts[0]
    host, vm = the_guest(admin_api, lab_host, tiny_linux)
    # kvmweb's default display for a new VM: VNC on the host's loopback, nothing else.
    dumped = lab_run(lab_host, "virsh", "dumpxml", NAME)
    assert re.search(r"<graphics type='vnc' port='59\d\d' autoport='yes' listen='127.0.0.1'", dumped)
    listeners = lab_run(lab_host, "ss", "-Hltn")
    assert re.search(r"127\.0\.0\.1:59\d\d\b", listeners) and not re.search(r"0\.0\.0\.0:59\d\d", listeners)

    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    login(page, asgi_server, "admin", "admin-pass-123")
    page.goto(f"{asgi_server}/vms/{vm.pk}/")
    page.click("#console-tab")
    page.wait_for_selector("#console-frame[src]")
    frame = console_frame(page)
    frame.wait_for_function("() => window.kvmwebConsole && window.kvmwebConsole.connected", timeout=30_000)
    row = page.wait_for_selector("#console-sessions tbody tr", timeout=10_000)
    assert "admin" in row.text_content() and "serial" in row.text_content()
    # Reboot the guest behind kvmweb's back: its boot comes through the open console.
    lab_run(lab_host, "virsh", "reset", NAME)
    wait_text(frame, r"KVMWEB-BOOT \d")
    wait_text(frame, r"^KVMWEB-IP 192\.168\.122\.\d+")
    wait_text(frame, r"/ # $", 30)  # the shell's prompt

    frame.click("#console")
    page.keyboard.type("echo kvm$((6*7))\n")
    wait_text(frame, r"^kvm42$", 30)

    # Copy (the selection) and paste (the clipboard) with the toolbar's buttons.
    frame.evaluate("() => window.kvmwebConsole.term.selectAll()")
    frame.click("#console-copy")
    assert "kvm42" in wait_for(lambda: frame.evaluate("() => navigator.clipboard.readText()"), 5,
                               what="the copied text")
    frame.evaluate("() => navigator.clipboard.writeText('echo pasted-$((1+2))\\r')")
    frame.click("#console-paste")
    wait_text(frame, r"^pasted-3$", 30)
    # The terminal follows the window's size (fit addon); scroll-back keeps 10,000 lines.
    cols = frame.evaluate("() => window.kvmwebConsole.term.cols")
    page.set_viewport_size({"width": 900, "height": 700})
    frame.wait_for_function(f"() => window.kvmwebConsole.term.cols < {cols}", timeout=5_000)
    assert frame.evaluate("() => window.kvmwebConsole.term.options.scrollback") == 10000

    # Drop the websocket while the guest is about to print; reconnect; the missed line comes.
    page.keyboard.type("sleep 3; echo missed-$((40+2))\n")
    wait_text(frame, r"sleep 3; echo missed", 10)
    frame.evaluate("() => window.kvmwebConsole.drop()")
    time.sleep(5)
    assert "missed-42" not in terminal_text(frame).replace("missed-$((40+2))", "")
    frame.evaluate("() => window.kvmwebConsole.reconnect()")
    wait_text(frame, r"^missed-42$", 20)
    text = terminal_text(frame)
    assert len(re.findall(r"^kvm42$", text, re.M)) == 1  # only what was missed was replayed
    if os.environ.get("KVMWEB_SCREENSHOTS"):
        page.set_viewport_size({"width": 1200, "height": 800})
        page.wait_for_timeout(1000)
        page.screenshot(path=str(Path(__file__).resolve().parents[2] / "docs" / "console-serial.png"))
    context.close()

    sessions = wait_for(lambda: list(ConsoleSession.objects.filter(vm=vm, ended__isnull=False)
                                     .order_by("started")) if ConsoleSession.objects.filter(
        vm=vm, ended__isnull=True).count() == 0 else None, 20, what="console sessions ended")
    assert [(s.username, s.kind) for s in sessions] == [("admin", "serial")] * 2
    assert sessions[0].bytes_in > 0 and sessions[0].bytes_out > 0 and sessions[1].duration > 0


def test_graphical_console_shows_the_screen_and_sends_ctrl_alt_del(
        admin_api, admin_user, celery_worker, lab_hosts, asgi_server, browser, tiny_linux):
    lab_host = lab_hosts[0]
    host, vm = the_guest(admin_api, lab_host, tiny_linux)
    context = browser.new_context()
    serial = context.new_page()
    login(serial, asgi_server, "admin", "admin-pass-123")
    serial.goto(f"{asgi_server}/consoles/vm/{vm.pk}/serial/")
    serial.wait_for_function("() => window.kvmwebConsole && window.kvmwebConsole.connected", timeout=30_000)
    serial.click("#console")
    serial.keyboard.type("\n")
    wait_text(serial, r"/ # $", 90)  # the guest's shell answers

    page = context.new_page()
    page.goto(f"{asgi_server}/consoles/vm/{vm.pk}/vnc/")
    page.wait_for_selector('#console-status[data-state="connected"]', timeout=30_000)
    # A non-blank framebuffer: the canvas holds more than one colour (tty1 shows a line).
    colours = page.wait_for_function("""() => {
        const canvas = document.querySelector('#console canvas');
        if (!canvas || !canvas.width) return 0;
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const seen = new Set();
        for (let i = 0; i < data.length; i += 4 * 7) seen.add(data[i] << 16 | data[i + 1] << 8 | data[i + 2]);
        return seen.size > 1 ? seen.size : 0;
    }""", timeout=30_000).json_value()
    assert colours > 1

    if os.environ.get("KVMWEB_SCREENSHOTS"):
        page.screenshot(path=str(Path(__file__).resolve().parents[2] / "docs" / "console-vnc.png"))
    page.click("#console-cad")
    wait_text(serial, r"KVMWEB-CTRLALTDEL", 30)  # printed after the prompt
    assert page.evaluate("() => window.kvmwebConsole.rfb.scaleViewport") is True
    page.click("#console-fullscreen")
    page.wait_for_function("() => !!document.fullscreenElement", timeout=5_000)
    context.close()
    rows = wait_for(lambda: ConsoleSession.objects.filter(vm=vm, kind="vnc", ended__isnull=False).first(),
                    20, what="the VNC session ended")
    assert rows.username == "admin" and rows.bytes_out > 0
