// Showcase: one socket per registered layer, one shared log of deliveries.
import { $, appendItem, clearError, el, showError, timeLabel } from "./dom.js";
import { LiveSocket } from "./socket.js";

const input = $("showcase-input");
const log = $("showcase-log");

function logDelivery(event) {
  appendItem(
    log,
    el("li", { className: "entry delivery", testid: "delivery", data: { layer: event.layer, source: event.source } }, [
      el("span", { className: "badge layer", text: event.layer }),
      el("span", { className: "meta", text: `${event.kind} · from ${event.source} · to the socket on ${event.served_by} · ${timeLabel(event.received_at)}` }),
      el("span", { className: "text", text: event.text }),
    ]),
  );
}

function text() {
  const value = input.value.trim();
  if (!value) showError({ code: "invalid_message", message: "Type something to send first." });
  return value;
}

for (const panel of document.querySelectorAll('[data-testid="layer-panel"]')) {
  const alias = panel.dataset.layer;
  const counter = $("delivery-count", panel);
  let count = 0;
  const socket = new LiveSocket(`/ws/showcase/${encodeURIComponent(alias)}`, {
    status: $("connection-status", panel),
    onMessage(event) {
      if (event.type === "ready") {
        $("served-by", panel).textContent = event.served_by;
      } else if (event.type === "delivery") {
        count += 1;
        counter.textContent = String(count);
        panel.classList.remove("flash");
        void panel.offsetWidth; // restart the highlight animation
        panel.classList.add("flash");
        logDelivery(event);
      } else if (event.type === "error") {
        showError(event);
      }
    },
  });

  $("showcase-send", panel).addEventListener("click", () => {
    const value = text();
    if (!value) return;
    clearError();
    if (!socket.send({ type: "broadcast", text: value })) {
      showError({ code: "not_connected", message: `The ${alias} socket is not connected.` });
    }
  });

  $("showcase-send-http", panel).addEventListener("click", async () => {
    const value = text();
    if (!value) return;
    clearError();
    const response = await fetch(`/api/showcase/${encodeURIComponent(alias)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: value }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      showError({ code: "http_error", message: String(body.detail || response.statusText) });
    }
  });
}
