// A WebSocket that shows its state and reconnects with exponential backoff.
//
//   const socket = new LiveSocket("/ws/echo", { status: el, onMessage: (data) => ... });
//   socket.send({ type: "message", text: "hi" });
//
// The URL is built from `location`: ws:// on http pages, wss:// on https pages,
// same host and port as the page. Nothing here knows a host name. `path` may be a
// function, called before every (re)connect: a page that resumes a group passes
// one that adds `?after=<last position seen>`.
//
// When the browser goes offline the socket is closed at once (a dead network can
// leave it looking open for minutes) and reconnected as soon as it is back online.

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8000;

export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

// Status texts, one per state; browser tests read `data-state`.
const LABELS = {
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting",
  offline: "Offline: waiting for the network",
  closed: "Disconnected",
};

export class LiveSocket {
  constructor(path, { status = null, onMessage = () => {}, onOpen = () => {}, onClose = () => {} } = {}) {
    this.path = path;
    this.statusEl = status;
    this.onMessage = onMessage;
    this.onOpen = onOpen;
    this.onClose = onClose;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.stopped = false;
    this.onOffline = () => this.goOffline();
    this.onOnline = () => {
      if (this.stopped || this.isOpen) return;
      const stale = this.ws; // a retry started while offline: replace it, now
      this.ws = null;
      if (stale) stale.close(1000);
      this.attempt = Math.max(this.attempt, 1); // a reconnect, not a first connect
      this.connect();
    };
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("online", this.onOnline);
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    if (this.attempt === 0) this.setState("connecting", LABELS.connecting);
    else this.setState("reconnecting", `${LABELS.reconnecting} (attempt ${this.attempt})…`);
    const path = typeof this.path === "function" ? this.path() : this.path;
    const ws = new WebSocket(wsUrl(path));
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempt = 0;
      this.setState("open", LABELS.open);
      this.onOpen();
    });
    ws.addEventListener("message", (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        data = { type: "text", text: String(event.data) };
      }
      this.onMessage(data);
    });
    ws.addEventListener("close", (event) => {
      if (ws !== this.ws || this.stopped) return; // replaced, or closed by close()
      this.onClose(event);
      // 4000-4999: the app refused us on purpose (bad room name...): retrying won't help.
      if (event.code >= 4000 && event.code < 5000) {
        this.setState("closed", event.reason || LABELS.closed);
        return;
      }
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    const delay = Math.min(BASE_DELAY_MS * 2 ** this.attempt, MAX_DELAY_MS);
    this.attempt += 1;
    this.setState("reconnecting", `${LABELS.reconnecting} in ${(delay / 1000).toFixed(1)} s…`);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  goOffline() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null; // its close event is then ignored: "online" reconnects
    if (ws) {
      this.onClose({ code: 1006, reason: "offline" });
      ws.close(1000);
    }
    this.setState("offline", LABELS.offline);
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  // Send a JSON message; false when the socket is not open (the caller tells the user).
  send(message) {
    return this.sendText(JSON.stringify(message));
  }

  sendText(text) {
    if (!this.isOpen) return false;
    this.ws.send(text);
    return true;
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
    if (this.ws) this.ws.close(1000);
    this.setState("closed", LABELS.closed);
  }

  setState(state, label) {
    if (!this.statusEl) return;
    this.statusEl.dataset.state = state;
    this.statusEl.textContent = label;
  }
}
