from django.apps import AppConfig


class DriftConfig(AppConfig):
    name = "drift"

    def ready(self):
        from django.db.models.signals import post_save

        from hosts.signals import definitions_read
        from kvmweb.conflicts import EDIT_GUARDS

        from . import operations, services  # noqa: F401 - registers the operation handler

        # dispatch_uid: one receiver even if ready() runs twice (tests, autoreload).
        definitions_read.connect(services.on_definitions_read, dispatch_uid="drift.compare")
        post_save.connect(services.on_operation_saved, sender="operations.Operation",
                          dispatch_uid="drift.operation_finished")
        if services.edit_refusal not in EDIT_GUARDS:
            EDIT_GUARDS.append(services.edit_refusal)
