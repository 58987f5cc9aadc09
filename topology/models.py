from django.db import models


class UplinkSegment(models.Model):
    """An administrator's name for the L2 segment (switch, VLAN, rack LAN) a host interface is
    plugged into. Uplinks with the same name are drawn on one LAN node, even when their IPv4
    subnets differ or they have no address.

    Kept apart from hosts.HostInterface (keyed by host + interface *name*, not by that row)
    because syncs and netlink events replace interface rows; this must survive them."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="segments")
    interface = models.CharField(max_length=16, help_text="the host interface, e.g. eth0 or bond0")
    name = models.CharField(max_length=64, help_text="the segment, e.g. 'rack 4 LAN' or 'vlan 120'")

    class Meta:
        ordering = ["host__name", "interface"]
        constraints = [models.UniqueConstraint(fields=["host", "interface"],
                                               name="uniq_host_uplink_segment")]

    def __str__(self):
        return f"{self.host}:{self.interface} on {self.name}"
