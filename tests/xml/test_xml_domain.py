"""Domain XML: reading NICs and the light VM settings, editing NICs."""

from __future__ import annotations

import pytest

from kvmweb.virt.xml import Domain, XMLError, memory_to_kib
from xml_testutil import canon, read, resolve

EXPECTED = {
    "domain-nics.xml": {
        "type": "kvm", "name": "web01", "uuid": "6c1d9c1e-3f0a-4d57-9a43-7d1f3b2a9e01",
        "title": "Web server 01", "metadata": None,
        "description": "Front-end web server with one NIC of every kind kvmweb manages.",
        "memory_value": 2, "memory_unit": "GiB", "memory": 2 * 1024 * 1024,
        "current_memory_value": 1536, "current_memory_unit": "MiB", "current_memory": 1536 * 1024,
        "vcpu": 4, "vcpu_placement": "static", "vcpu_current": 2,
        "os.type": "hvm", "os.arch": "x86_64", "os.machine": "pc-q35-7.2", "os.boot_devs": [],
        "os.boot_menu": True, "os.firmware": None, "os.loader": None,
        "features.acpi": True, "features.apic": True, "features.pae": False,
        "features.names": ["acpi", "apic", "vmport"],
        "on_poweroff": "destroy", "on_reboot": "restart", "on_crash": "destroy",
        "emulator": "/usr/bin/qemu-system-x86_64",
        "disks[0].type": "file", "disks[0].device": "disk", "disks[0].driver_name": "qemu",
        "disks[0].driver_type": "qcow2", "disks[0].source_file": "/var/lib/libvirt/images/web01.qcow2",
        "disks[0].target_dev": "vda", "disks[0].target_bus": "virtio", "disks[0].readonly": False,
        "disks[0].source": "/var/lib/libvirt/images/web01.qcow2",
        "disks[1].source_pool": "default", "disks[1].source_volume": "web01-data",
        "disks[1].source": "default/web01-data", "disks[1].source_dev": None,
        "disks[2].device": "cdrom", "disks[2].readonly": True, "disks[2].boot_order": None,
        "interfaces[0].type": "network", "interfaces[0].mac": "52:54:00:6b:3c:01",
        "interfaces[0].source_network": "nat-default", "interfaces[0].source_portgroup": "engineering",
        "interfaces[0].source": "nat-default", "interfaces[0].model": "virtio",
        "interfaces[0].bandwidth.inbound.floor": 200, "interfaces[0].bandwidth.inbound.average": 1000,
        "interfaces[0].bandwidth.outbound.burst": 256, "interfaces[0].link_state": "up",
        "interfaces[0].mtu": 1500, "interfaces[0].boot_order": 1, "interfaces[0].target_dev": None,
        "interfaces[1].type": "bridge", "interfaces[1].source_bridge": "br0",
        "interfaces[1].source": "br0", "interfaces[1].vlan.ids": [42],
        "interfaces[1].virtualport.type": "openvswitch",
        "interfaces[1].virtualport.profile_id": "menial", "interfaces[1].target_dev": "vnet7",
        "interfaces[1].driver_name": "vhost", "interfaces[1].driver_queues": 4,
        "interfaces[2].type": "direct", "interfaces[2].source_dev": "eth2",
        "interfaces[2].source_mode": "vepa", "interfaces[2].trust_guest_rx_filters": True,
        "interfaces[2].link_state": "down", "interfaces[2].model": "e1000e",
        "interfaces[3].type": "hostdev", "interfaces[3].managed": True,
        "interfaces[3].vlan.tags[0].id": 47, "interfaces[3].source": None,
        "interfaces[4].type": "user", "interfaces[5].type": "ethernet",
        "interfaces[5].target_dev": "tap-web01", "interfaces[5].alias": None,
        "serials[0].type": "pty", "serials[0].target_type": "isa-serial", "serials[0].target_port": 0,
        "consoles[0].target_type": "serial", "consoles[0].source_path": None,
        "graphics[0].type": "vnc", "graphics[0].port": -1, "graphics[0].autoport": True,
        "graphics[0].listen": "127.0.0.1",
    },
    "domain-kernel-boot.xml": {
        "type": "qemu", "memory": 524288, "os.kernel": "/var/lib/kvmweb/boot/vmlinuz",
        "os.initrd": "/var/lib/kvmweb/boot/initrd.img", "os.cmdline": "console=ttyS0 ip=dhcp",
        "features.pae": True, "features.apic": False, "on_crash": "preserve",
        "interfaces[0].alias": "ua-pxe0", "serials[0].source_path": "/var/log/kvmweb/netboot01.log",
        "serials[0].target_type": None, "consoles[0].type": "file", "emulator": None,
    },
    "domain-boot-order.xml": {
        "memory_unit": None, "memory": 1048576, "current_memory": None, "vcpu_placement": None,
        "os.firmware": "efi", "os.boot_devs": ["network", "cdrom", "hd"], "features.exists": False,
        "features.names": [],
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_read_values(name):
    dom = Domain.from_xml(read(name))
    for dotted, expected in EXPECTED[name].items():
        assert resolve(dom, dotted) == expected, dotted


def test_find_interface_by_mac_any_spelling():
    dom = Domain.from_xml(read("domain-nics.xml"))
    assert dom.find_interface("52:54:00:6B:3C:03").source_dev == "eth2"
    assert dom.find_interface("52-54-00-6b-3c-05").type == "user"
    assert dom.find_interface("52:54:00:00:00:00") is None
    with pytest.raises(XMLError, match="MAC"):
        dom.find_interface("not-a-mac")


def test_golden_nic_edit():
    dom = Domain.from_xml(read("domain-nic-edit-in.xml"))
    nic = dom.find_interface("52:54:00:10:00:01")
    nic.set_source("bridge", bridge="br0")
    nic.vlan.tags.add(id=42)
    nic.link_state = "down"
    dom.interfaces.remove(dom.find_interface("52:54:00:10:00:02"))
    dom.interfaces.add(type="direct", mac="52:54:00:10:00:03", source_dev="eth1",
                       source_mode="bridge", model="virtio")
    dom.memory = 2 * 1024 * 1024
    assert canon(dom.to_xml()) == canon(read("domain-nic-edit-out.xml"))
    assert [n.source for n in dom.interfaces] == ["br0", "eth1"]


def test_set_source_validates_and_roundtrips_back():
    dom = Domain.from_xml(read("domain-nic-edit-in.xml"))
    nic = dom.interfaces[0]
    with pytest.raises(XMLError, match="takes source"):
        nic.set_source("bridge", network="x")
    with pytest.raises(XMLError, match="supports types"):
        nic.set_source("hostdev")
    nic.set_source("direct", dev="eth0", mode="passthrough")
    assert (nic.type, nic.source_dev, nic.source_mode, nic.source_network) == (
        "direct", "eth0", "passthrough", None)
    nic.set_source("network", network="nat-default", portgroup="engineering")
    assert canon(dom.to_xml()) == canon(read("domain-nic-edit-in.xml"))


def test_build_domain_from_scratch_matches_data_file():
    dom = Domain.new(type="kvm", name="pxe-client", uuid="6c1d9c1e-3f0a-4d57-9a43-7d1f3b2a9e03")
    dom.interfaces.add(type="network", mac="52:54:00:bb:00:01", source_network="pxe", model="virtio")
    dom.os.boot_devs = ["network", "cdrom", "hd"]
    dom.os.update(type="hvm", arch="x86_64", machine="q35", firmware="efi")
    dom.vcpu = 2
    dom.memory_value = 1048576
    assert canon(dom.to_xml()) == canon(read("domain-boot-order.xml"))


def test_build_kernel_boot_domain():
    dom = Domain.new(type="qemu", name="netboot01", uuid="6c1d9c1e-3f0a-4d57-9a43-7d1f3b2a9e02")
    dom.current_memory = 524288
    dom.memory = 524288
    dom.vcpu, dom.vcpu_placement = 1, "static"
    dom.os.update(type="hvm", arch="x86_64", machine="pc", cmdline="console=ttyS0 ip=dhcp",
                  initrd="/var/lib/kvmweb/boot/initrd.img", kernel="/var/lib/kvmweb/boot/vmlinuz")
    dom.features.pae = True
    dom.features.acpi = True
    dom.update(on_crash="preserve", on_reboot="restart", on_poweroff="destroy")
    for n, (mac, net) in enumerate((("52:54:00:aa:00:01", "pxe"), ("52:54:00:aa:00:02", "isolated-lab"))):
        nic = dom.interfaces.add(type="network", mac=mac, source_network=net, model="virtio")
        if n == 0:
            nic.alias = "ua-pxe0"
    log = "/var/log/kvmweb/netboot01.log"
    dom.consoles.add(type="file", source_path=log, target_type="serial", target_port=0)
    dom.serials.add(type="file", source_path=log, target_port=0)
    assert canon(dom.to_xml()) == canon(read("domain-kernel-boot.xml"))


def test_more_domain_setters():
    dom = Domain.from_xml(read("domain-nics.xml"))
    dom.update(title="Web 01", description="changed", vcpu_current=3, emulator="/usr/bin/kvm")
    dom.os.boot_menu = False
    dom.os.loader = "/usr/share/OVMF/OVMF_CODE.fd"
    dom.features.apic = False
    dom.features.acpi = False
    assert dom.features.names == ["vmport"]       # unknown feature kept, <features> kept
    disk = dom.disks[1]
    disk.update(type="file", source_pool=None, source_volume=None, source_file="/srv/data.raw",
                driver_name="qemu", driver_type="raw", target_dev="vdc", target_bus="scsi")
    disk.update(device="disk", readonly=True, boot_order=2, source_dev=None)
    assert disk.source == "/srv/data.raw" and disk.readonly
    nic = dom.interfaces[1]
    nic.virtualport.update(type="openvswitch", interface_id="11111111-2222-3333-4444-555555555555")
    nic.update(target_dev="vnet9", driver_name="qemu", driver_queues=None, trust_guest_rx_filters=False)
    nic.bandwidth.inbound.average = 10
    nic.update(mtu=9000, managed=None, boot_order=None, source_portgroup=None)
    g = dom.graphics[0]
    g.update(type="spice", port=5901, autoport=False, listen="0.0.0.0")
    dom.serials[0].update(type="pty", target_type="pci-serial")
    dom.current_memory = None
    assert dom.current_memory is None and dom.current_memory_unit is None
    again = Domain.from_xml(dom.to_xml())
    assert again.title == "Web 01" and again.vcpu_current == 3 and again.emulator == "/usr/bin/kvm"
    assert again.os.boot_menu is False and again.os.loader.endswith("OVMF_CODE.fd")
    assert again.disks[1].boot_order == 2 and again.disks[1].target_bus == "scsi"
    assert again.interfaces[1].virtualport.interface_id.startswith("1111")
    assert again.interfaces[1].mtu == 9000 and again.interfaces[1].driver_queues is None
    assert again.graphics[0].port == 5901 and again.serials[0].target_type == "pci-serial"
    assert "<currentMemory" not in again.to_xml()


def test_memory_units():
    assert memory_to_kib(2, "GiB") == 2097152
    assert memory_to_kib(1, "G") == 1048576
    assert memory_to_kib(1000, "KB") == 977          # rounds up like libvirt
    assert memory_to_kib(1024, None) == 1024
    assert memory_to_kib(1, "bytes") == 1
    assert memory_to_kib(None, "GiB") is None
    with pytest.raises(XMLError, match="unknown memory unit"):
        memory_to_kib(1, "parsecs")


def test_add_disk_graphics_metadata_and_8021qbg_nic():
    dom = Domain.new(type="kvm", name="adds", uuid="6c1d9c1e-3f0a-4d57-9a43-7d1f3b2a9e20")
    dom.memory = 1048576
    dom.os.type = "hvm"
    dom.graphics.add(type="vnc", autoport=True, listen="127.0.0.1")
    nic = dom.interfaces.add(type="direct", mac="52:54:00:20:00:01", source_dev="eth1", source_mode="vepa")
    nic.virtualport.update(type="802.1Qbg", manager_id=11, type_id=1193047, type_id_version=2,
                           instance_id="09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f")
    floor_nic = dom.interfaces.add(type="network", mac="52:54:00:20:00:02", source_network="nat-default")
    floor_nic.bandwidth.inbound.update(average=1000, floor=200)
    dom.disks.add(type="file", device="disk", driver_name="qemu", driver_type="qcow2",
                  source_file="/var/lib/libvirt/images/adds.qcow2", target_dev="vda", target_bus="virtio")
    md = Domain.from_xml("<domain><metadata><k:vm xmlns:k='https://kvmweb.example/xmlns/vm/1.0'"
                         " owner='team-a'/></metadata></domain>").metadata
    dom.metadata = md
    out = dom.to_xml()
    # devices in libvirt's order regardless of the order they were added in
    assert [el.tag for el in dom.root.find("devices")] == ["disk", "interface", "interface", "graphics"]
    assert out.index("</uuid>") < out.index("<metadata>") < out.index("<memory")
    again = Domain.from_xml(out)
    vp = again.interfaces[0].virtualport
    assert (vp.manager_id, vp.type_id, vp.type_id_version) == (11, 1193047, 2)
    assert again.interfaces[1].bandwidth.inbound.floor == 200
    assert again.disks[0].source == "/var/lib/libvirt/images/adds.qcow2"
    assert again.graphics[0].autoport is True
    assert again.metadata[0].get("owner") == "team-a"


def test_graphics_listen_address_and_secrets():
    dom = Domain.from_xml(
        "<domain type='kvm'><name>g</name><devices>"
        "<graphics type='vnc' port='5901' autoport='yes' listen='0.0.0.0' passwd='s3cret'>"
        "<listen type='address' address='0.0.0.0'/></graphics>"
        "<graphics type='spice' autoport='yes'><listen type='socket'/></graphics>"
        "<graphics type='vnc' port='-1'/></devices></domain>")
    vnc, spice, bare = dom.graphics
    assert vnc.listen_type == "address" and vnc.listen_address == "0.0.0.0" and vnc.listens_everywhere
    assert vnc.passwd == "s3cret"
    assert spice.address is None and not spice.listens_everywhere
    assert bare.address == "0.0.0.0" and bare.listens_everywhere  # libvirt's default
    vnc.set_listen("127.0.0.1")
    assert vnc.listen == vnc.listen_address == vnc.address == "127.0.0.1"
    assert not vnc.listens_everywhere
    out = dom.without_secrets().to_xml()
    assert "s3cret" not in out and "passwd" not in out
    again = Domain.from_xml(out)
    assert again.graphics[0].address == "127.0.0.1" and again.graphics[0].passwd is None


AGENT_CHANNEL_LIVE = """<domain type='qemu'><name>tiny</name><devices>
  <channel type='unix'>
    <source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-1-tiny/org.qemu.guest_agent.0'/>
    <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>
  </channel></devices></domain>"""


def test_guest_agent_channel_read_and_written():
    [live] = Domain.from_xml(AGENT_CHANNEL_LIVE).channels
    assert (live.type, live.target_type, live.target_name, live.target_state) == (
        "unix", "virtio", "org.qemu.guest_agent.0", "connected")
    assert live.source_path.endswith("/domain-1-tiny/org.qemu.guest_agent.0")
    dom = Domain.new(type="qemu", name="tiny")
    dom.channels.add(type="unix", target_type="virtio", target_name="org.qemu.guest_agent.0")
    made = Domain.from_xml(dom.to_xml())
    assert canon(made.to_xml()) == canon(
        "<domain type='qemu'><name>tiny</name><devices><channel type='unix'>"
        "<target type='virtio' name='org.qemu.guest_agent.0'/></channel></devices></domain>")
    made.channels[0].update(source_path="/run/ga.sock", target_state="disconnected")
    again = Domain.from_xml(made.to_xml()).channels[0]
    assert (again.source_path, again.target_state) == ("/run/ga.sock", "disconnected")
