"""The kvmweb lab: real libvirt hypervisor hosts in network namespaces on this machine.

See :mod:`kvmweb.lab.hosts` (create_lab, teardown_lab, load_lab, lab_exec) and
:mod:`kvmweb.lab.guests` (build_tiny_linux, tiny_linux_domain_xml, pxe_domain_xml).
Run ``python -m kvmweb.lab --help`` for the CLI.
"""
from ._sys import LabError
from .guests import build_tiny_linux, pxe_domain_xml, tiny_linux_domain_xml
from .hosts import (DEFAULT_STATE_DIR, LabHost, create_lab, install_boot_pool, lab_exec,
                    load_lab, pxe_mac, restart_libvirtd, teardown_lab)

__all__ = ["LabError", "LabHost", "DEFAULT_STATE_DIR", "create_lab", "teardown_lab",
           "load_lab", "lab_exec", "restart_libvirtd", "install_boot_pool", "pxe_mac", "build_tiny_linux",
           "tiny_linux_domain_xml",
           "pxe_domain_xml"]
