// System echo: plain text out, {"type": "echo"} back. No channel layer involved.
import { $, appendItem, clearError, el, showError, submitOnEnter, timeLabel } from "./dom.js";
import { LiveSocket } from "./socket.js";

const input = $("echo-input");
const button = $("echo-send");
const log = $("echo-log");

function entry(kind, text) {
  appendItem(
    log,
    el("li", { className: `entry ${kind}`, testid: "echo-item", data: { kind } }, [
      el("span", { className: "meta", text: `${kind === "out" ? "You" : "Server"} · ${timeLabel()}` }),
      el("span", { className: "text", text }),
    ]),
  );
}

const socket = new LiveSocket("/ws/echo", {
  status: $("connection-status"),
  onMessage(event) {
    if (event.type === "error") {
      showError(event);
      entry("error", event.message);
    } else if (event.type === "echo") {
      entry("in", event.text);
    } else if (event.type === "welcome") {
      entry("system", event.text);
    }
  },
});

button.addEventListener("click", () => {
  const text = input.value;
  if (!text) return;
  clearError();
  if (!socket.sendText(text)) {
    showError({ code: "not_connected", message: "Not connected yet; try again in a moment." });
    return;
  }
  entry("out", text);
  input.value = "";
  input.focus();
});
submitOnEnter(input, button);
