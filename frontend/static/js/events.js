// A Server-Sent Events stream that shows its state like LiveSocket does.
//
//   const stream = new LiveEvents("/sse/notifications", { status: el, events: { notification: (data) => ... } });
//
// EventSource reconnects by itself (after the server's `retry:` delay) and sends
// Last-Event-ID when it does; this class only reports the state and decodes JSON.

const LABELS = {
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

export class LiveEvents {
  constructor(path, { status = null, events = {} } = {}) {
    this.statusEl = status;
    this.setState("connecting", LABELS.connecting);
    this.source = new EventSource(path);
    this.source.addEventListener("open", () => this.setState("open", LABELS.open));
    this.source.addEventListener("error", () => {
      // CONNECTING: the browser retries on its own; CLOSED: it gave up (an HTTP error).
      if (this.source.readyState === EventSource.CLOSED) this.setState("closed", LABELS.closed);
      else this.setState("reconnecting", LABELS.reconnecting);
    });
    for (const [name, handler] of Object.entries(events)) {
      this.source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
    }
  }

  get isOpen() {
    return this.source.readyState === EventSource.OPEN;
  }

  close() {
    this.source.close();
    this.setState("closed", LABELS.closed);
  }

  setState(state, label) {
    if (!this.statusEl) return;
    this.statusEl.dataset.state = state;
    this.statusEl.textContent = label;
  }
}
