// Room chat: one socket per joined room, /ws/room/<room>?name=<display name>.
import { $, appendItem, clearError, el, showError, submitOnEnter, timeLabel } from "./dom.js";
import { LiveSocket } from "./socket.js";

const nameInput = $("chat-name");
const roomInput = $("chat-room");
const joinButton = $("chat-join");
const leaveButton = $("chat-leave");
const messageInput = $("chat-input");
const sendButton = $("chat-send");
const messages = $("chat-messages");
const currentRoom = $("chat-current-room");
const status = $("connection-status");

const signinState = $("signin-state");
const signinName = $("signin-name");
const signinButton = $("signin-button");
const signoutButton = $("signout-button");

let socket = null;

// Signed in, the server takes the name from the signed cookie: the name field is moot.
function showSignedIn(me) {
  signinState.dataset.signedIn = String(me.signed_in);
  signinState.textContent = me.signed_in
    ? `Signed in as ${me.name}: your messages carry this name.`
    : "Not signed in: you chat as a guest.";
  nameInput.disabled = me.signed_in;
  signinButton.hidden = me.signed_in;
  signinName.hidden = me.signed_in;
  signoutButton.hidden = !me.signed_in;
}

async function callApi(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.detail || response.statusText);
  return data;
}

signinButton.addEventListener("click", async () => {
  try {
    showSignedIn(await callApi("/api/signin", { name: signinName.value }));
    clearError();
  } catch (error) {
    showError({ code: "signin_failed", message: String(error.message) });
  }
});

signoutButton.addEventListener("click", async () => {
  showSignedIn(await callApi("/api/signout", {}));
});

callApi("/api/me").then(showSignedIn, () => {});

function setJoined(room) {
  currentRoom.textContent = room ? `#${room}` : "not in a room";
  currentRoom.dataset.room = room || "";
  messageInput.disabled = sendButton.disabled = !room;
  leaveButton.disabled = !room;
}

function onMessage(event) {
  switch (event.type) {
    case "joined":
      clearError();
      setJoined(event.room);
      break;
    case "message":
      appendItem(
        messages,
        el("li", { className: "entry message", testid: "chat-message", data: { author: event.name } }, [
          el("span", {
            className: "meta",
            text: `${event.name}${event.verified ? " ✓" : " (guest)"} · ${timeLabel()}`,
          }),
          el("span", { className: "text", testid: "chat-text", text: event.text }),
        ]),
      );
      break;
    case "notice":
      appendItem(
        messages,
        el("li", { className: "entry notice", testid: "chat-notice", data: { event: event.event }, text: event.text }),
      );
      break;
    case "error":
      showError(event);
      if (event.code === "invalid_room" || event.code === "invalid_name") setJoined(null);
      break;
  }
}

joinButton.addEventListener("click", () => {
  const room = roomInput.value.trim();
  const name = nameInput.value.trim();
  if (!room) {
    showError({ code: "invalid_room", message: "Pick a room name first." });
    return;
  }
  // The browser resolves "." and ".." in a URL path away, so /ws/room/.. would never
  // reach the room route (and the socket would retry forever). Refuse them here.
  if (room === "." || room === "..") {
    showError({ code: "invalid_room", message: `Room name "${room}" cannot be used in a URL; pick another.` });
    return;
  }
  if (socket) socket.close();
  clearError();
  messages.replaceChildren();
  setJoined(null);
  const query = new URLSearchParams({ name });
  socket = new LiveSocket(`/ws/room/${encodeURIComponent(room)}?${query}`, { status, onMessage });
});

leaveButton.addEventListener("click", () => {
  if (socket) socket.close();
  socket = null;
  setJoined(null);
});

sendButton.addEventListener("click", () => {
  const text = messageInput.value;
  if (!text.trim()) return;
  clearError();
  if (!socket || !socket.send({ type: "message", text })) {
    showError({ code: "not_connected", message: "Not connected to a room; join one first." });
    return;
  }
  messageInput.value = "";
  messageInput.focus();
});

submitOnEnter(messageInput, sendButton);
submitOnEnter(roomInput, joinButton);
setJoined(null);
