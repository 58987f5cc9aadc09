from django.apps import AppConfig


class TopologyConfig(AppConfig):
    name = "topology"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from hosts.signals import read_model_changed

        from . import services
        from .models import UplinkSegment

        # dispatch_uid: one receiver even if ready() runs twice (tests, autoreload).
        read_model_changed.connect(services.on_read_model_changed, dispatch_uid="topology.publish")
        post_save.connect(services.on_host_saved, sender="hosts.Host",
                          dispatch_uid="topology.host_saved")
        post_delete.connect(services.on_host_deleted, sender="hosts.Host",
                            dispatch_uid="topology.host_deleted")
        for signal in (post_save, post_delete):
            signal.connect(services.on_segment_changed, sender=UplinkSegment,
                           dispatch_uid=f"topology.segment.{signal is post_save}")
