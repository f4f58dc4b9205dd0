// Notifications: every open page hears every notification, whoever sent it
// (this page, POST /api/notifications or `python -m sandbox.notify`).
//
// Two transports carry the same events: a WebSocket (/ws/notifications) or
// Server-Sent Events (/sse/notifications). The user picks one (?transport=sse
// in the URL works too); when WebSockets fail twice before ever opening, the
// page switches to Server-Sent Events by itself.
import { $, appendItem, clearError, el, showError, submitOnEnter, timeLabel } from "./dom.js";
import { LiveEvents } from "./events.js";
import { LiveSocket } from "./socket.js";

const input = $("notify-input");
const button = $("notify-send");
const list = $("notifications-list");
const status = $("connection-status");
const note = $("transport-note");
const WS_FAILURES_BEFORE_FALLBACK = 2;

function show(event) {
  appendItem(
    list,
    el("li", { className: "entry notification", testid: "notification", data: { source: event.source } }, [
      el("span", { className: `badge source-${event.source}`, text: event.source }),
      el("span", { className: "text", testid: "notification-text", text: event.text }),
      el("span", { className: "meta", text: timeLabel(event.sent_at) }),
    ]),
  );
}

let connection = null;
let transport = null;

function openWebSocket() {
  let opened = false;
  let failures = 0;
  return new LiveSocket("/ws/notifications", {
    status,
    onOpen() {
      opened = true;
    },
    onClose() {
      if (!opened && ++failures >= WS_FAILURES_BEFORE_FALLBACK) {
        use("sse", "WebSockets failed here, so this page uses Server-Sent Events.");
      }
    },
    onMessage(event) {
      if (event.type === "notification") show(event);
      else if (event.type === "error") showError(event);
    },
  });
}

function use(name, why = "") {
  if (connection) connection.close();
  transport = name;
  status.dataset.transport = name;
  $(`transport-${name}`).checked = true;
  note.textContent = why;
  note.hidden = !why;
  const url = new URL(location.href);
  url.searchParams.set("transport", name);
  history.replaceState(null, "", url);
  connection = name === "sse" ? openEventStream() : openWebSocket();
}

// The stream's event ids are positions in the notifications group, which keeps
// history: when the browser reconnects (sending Last-Event-ID) it gets what it
// missed. Only when that is gone too does the server say "recovery.failed".
function openEventStream() {
  return new LiveEvents("/sse/notifications", {
    status,
    events: {
      notification: show,
      "recovery.failed": () => {
        note.textContent = "Some notifications sent while this page was away are gone.";
        note.hidden = false;
      },
    },
  });
}

for (const name of ["ws", "sse"]) {
  $(`transport-${name}`).addEventListener("change", () => use(name));
}
use(new URLSearchParams(location.search).get("transport") === "sse" ? "sse" : "ws");

// Server-Sent Events only flow to the page, so on SSE the page posts over HTTP.
async function postNotification(text) {
  const response = await fetch("/api/notifications", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    showError({ code: "http_error", message: body.detail || `HTTP ${response.status}` });
  }
}

button.addEventListener("click", () => {
  const text = input.value.trim();
  if (!text) return;
  clearError();
  if (transport === "sse") {
    postNotification(text);
  } else if (!connection.send({ type: "notify", text })) {
    showError({ code: "not_connected", message: "Not connected yet; try again in a moment." });
    return;
  }
  input.value = "";
});
submitOnEnter(input, button);
