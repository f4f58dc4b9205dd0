// Notifications: every open page hears every notification, whoever sent it
// (this page, POST /api/notifications or `python -m sandbox.notify`).
import { $, appendItem, clearError, el, showError, submitOnEnter, timeLabel } from "./dom.js";
import { LiveSocket } from "./socket.js";

const input = $("notify-input");
const button = $("notify-send");
const list = $("notifications-list");

const socket = new LiveSocket("/ws/notifications", {
  status: $("connection-status"),
  onMessage(event) {
    if (event.type === "notification") {
      appendItem(
        list,
        el("li", { className: "entry notification", testid: "notification", data: { source: event.source } }, [
          el("span", { className: `badge source-${event.source}`, text: event.source }),
          el("span", { className: "text", testid: "notification-text", text: event.text }),
          el("span", { className: "meta", text: timeLabel(event.sent_at) }),
        ]),
      );
    } else if (event.type === "error") {
      showError(event);
    }
  },
});

button.addEventListener("click", () => {
  const text = input.value.trim();
  if (!text) return;
  clearError();
  if (!socket.send({ type: "notify", text })) {
    showError({ code: "not_connected", message: "Not connected yet; try again in a moment." });
    return;
  }
  input.value = "";
});
submitOnEnter(input, button);
