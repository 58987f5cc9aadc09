// Serial console: xterm.js on /ws/console/<vm>/serial/. Output arrives as binary frames
// numbered by byte offset; after a dropped websocket we reconnect (new ticket) with the
// stream id and our offset, and the server replays what we missed from its ring buffer.
(function () {
  "use strict";
  const C = window.kvmwebConsoleCommon;
  const root = document.getElementById("console");
  const vm = root.dataset.vm;
  const term = new Terminal({ scrollback: 10000, cursorBlink: true, fontSize: 14,
                              theme: { background: "#111111" } });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(root);
  fit.fit();
  new ResizeObserver(() => fit.fit()).observe(root);

  let ws = null, stream = null, offset = null, retryDelay = 500, hold = false, timer = null;

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  async function connect() {
    clearTimeout(timer);
    C.status("connecting…", "connecting");
    let ticket;
    try {
      ticket = await C.ticket(vm, "serial");
    } catch (err) {
      C.status(err.message, "refused");
      return;
    }
    const extra = stream !== null && offset !== null ? { stream: stream, since: offset } : {};
    const socket = new WebSocket(C.url(ticket, extra));
    socket.binaryType = "arraybuffer";
    ws = socket;
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") {
        const bytes = new Uint8Array(event.data);
        offset += bytes.length;
        term.write(bytes);
        return;
      }
      const message = JSON.parse(event.data);
      if (message.type === "attached") {
        if (stream !== null && message.stream !== stream) term.write("\r\n\x1b[33m[kvmweb: a new console stream; earlier output is gone]\x1b[0m\r\n");
        if (message.lost) term.write(`\r\n\x1b[33m[kvmweb: ${message.lost} bytes of output were lost while disconnected]\x1b[0m\r\n`);
        stream = message.stream;
        offset = message.offset;
        retryDelay = 500;
        C.status("connected", "connected");
        send({ type: "resize", cols: term.cols, rows: term.rows });
      } else if (message.type === "error") {
        C.status(message.error, "refused");
      } else if (message.type === "closed") {
        C.status(`closed: ${message.reason}`, "closed");
      }
    };
    socket.onclose = (event) => {
      if (ws !== socket) return;
      ws = null;
      if (C.refused(event.code)) {
        if (event.reason) C.status(event.reason, "refused");
        return;
      }
      if (event.code === 4502 || hold) {
        if (event.code !== 4502) C.status("disconnected", "dropped");
        return;
      }
      C.status(`disconnected; reconnecting in ${retryDelay / 1000} s`, "dropped");
      timer = setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }

  term.onData((data) => send({ type: "input", data: data }));
  term.onResize(({ cols, rows }) => send({ type: "resize", cols: cols, rows: rows }));

  // Copy / paste: selecting copies on Ctrl+Shift+C (or the button); Ctrl+Shift+V and the
  // button paste. Plain Ctrl+C / Ctrl+V go to the guest, as in any terminal.
  function copy() {
    const text = term.getSelection();
    if (text && navigator.clipboard) navigator.clipboard.writeText(text);
  }
  async function paste() {
    if (navigator.clipboard && navigator.clipboard.readText) term.paste(await navigator.clipboard.readText());
  }
  term.attachCustomKeyEventHandler((event) => {
    if (event.type !== "keydown" || !event.ctrlKey || !event.shiftKey) return true;
    if (event.code === "KeyC") { copy(); return false; }
    if (event.code === "KeyV") return false; // the browser's paste event reaches xterm
    return true;
  });
  document.getElementById("console-copy").addEventListener("click", copy);
  document.getElementById("console-paste").addEventListener("click", () => { paste(); term.focus(); });
  document.getElementById("console-reconnect").addEventListener("click", () => {
    hold = false;
    if (ws) ws.close(); else connect();
  });

  // For people and tests: what the terminal shows, and a way to drop the websocket.
  window.kvmwebConsole = {
    term: term,
    text() {
      const buffer = term.buffer.active, lines = [];
      for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
      return lines.join("\n");
    },
    drop() { hold = true; if (ws) ws.close(); },
    reconnect() { hold = false; connect(); },
    get connected() { return !!ws && ws.readyState === WebSocket.OPEN; },
  };
  connect();
  term.focus();
})();
