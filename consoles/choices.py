"""Console kinds and the close codes the websocket consumers use (4xxx: application codes)."""

SERIAL = "serial"
VNC = "vnc"
KINDS = [(SERIAL, "serial console"), (VNC, "graphical console (VNC)")]

# Websocket close codes, so the page can say what went wrong.
CLOSE_ANONYMOUS = 4401
CLOSE_REFUSED = 4403  # no right, or a used / expired / foreign ticket
CLOSE_UNAVAILABLE = 4404  # VM not running, no display, host not connectable
CLOSE_TOO_MANY = 4429
CLOSE_HOST_ERROR = 4502  # the host or the stream failed
