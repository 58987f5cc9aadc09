# Kept empty on purpose: kvmweb.virt.hostnet is imported on hosts through mitogen, and
# anything imported here would be shipped there too. The Celery app is loaded in
# operations.apps.OperationsConfig.ready().
