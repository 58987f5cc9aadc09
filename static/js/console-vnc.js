// Graphical console: noVNC over /ws/console/<vm>/vnc/ (the server carries the RFB stream
// through SSH to the display on the host's loopback). We open the websocket ourselves and hand
// it to noVNC, so we also see the server's refusal message and close reason.
const C = window.kvmwebConsoleCommon;
const root = document.getElementById("console");
const { default: RFB } = await import(root.dataset.rfb);
const scale = document.getElementById("console-scale");
let rfb = null;

async function connect() {
  if (rfb) { rfb.disconnect(); rfb = null; }
  C.status("connecting…", "connecting");
  let ticket;
  try {
    ticket = await C.ticket(root.dataset.vm, "vnc");
  } catch (err) {
    C.status(err.message, "refused");
    return;
  }
  const socket = new WebSocket(C.url(ticket));
  socket.binaryType = "arraybuffer";
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    try {
      const message = JSON.parse(event.data);
      if (message.type === "error") C.status(message.error, "refused");
    } catch (err) { /* not ours */ }
  });
  socket.addEventListener("close", (event) => {
    if (C.refused(event.code)) { if (event.reason) C.status(event.reason, "refused"); }
    else if (event.code === 4502) C.status(`closed: ${event.reason || "the display closed"}`, "closed");
  });
  rfb = new RFB(root, socket, {});
  rfb.scaleViewport = scale.checked;
  rfb.background = "#111";
  rfb.addEventListener("connect", () => C.status("connected", "connected"));
  rfb.addEventListener("disconnect", (event) => {
    const state = document.getElementById("console-status").dataset.state;
    if (state === "connected" || state === "connecting") C.status(event.detail.clean ? "disconnected" : "connection lost", "dropped");
  });
  rfb.addEventListener("credentialsrequired", () => {
    // The display's password is typed here and goes straight to the VNC server: kvmweb never
    // reads, stores or shows it.
    const password = window.prompt("This display has a VNC password:");
    if (password !== null) rfb.sendCredentials({ password: password });
  });
  window.kvmwebConsole = { rfb: rfb, socket: socket };
}

document.getElementById("console-cad").addEventListener("click", () => { if (rfb) { rfb.sendCtrlAltDel(); rfb.focus(); } });
scale.addEventListener("change", () => { if (rfb) rfb.scaleViewport = scale.checked; });
document.getElementById("console-fullscreen").addEventListener("click", () => {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen();
});
document.getElementById("console-reconnect").addEventListener("click", connect);
connect();
