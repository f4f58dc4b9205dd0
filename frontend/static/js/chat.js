// Room chat: one socket per joined room, /ws/room/<room>?name=<display name>.
//
// Rooms keep history: every message and notice carries its `position`, and the page
// remembers the last one it showed. When the socket reconnects (server restart,
// network back) it asks for `?after=<that position>` and the server sends what the
// page missed, then `resumed`; or `reset` when it cannot, and the room afresh.
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
const recovery = $("chat-recovery");
const presenceList = $("presence-list");
const presenceCount = $("presence-count");

const signinState = $("signin-state");
const signinName = $("signin-name");
const signinButton = $("signin-button");
const signoutButton = $("signout-button");

let socket = null;
let lastPosition = null; // "<epoch>:<offset>" of the last message shown
let members = new Map(); // member id -> {id, name, verified}

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

function renderPresence() {
  const sorted = [...members.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  presenceList.replaceChildren(
    ...sorted.map((m) =>
      el("li", { testid: "presence-member", data: { name: m.name, id: m.id }, text: `${m.name}${m.verified ? " ✓" : ""}` }),
    ),
  );
  presenceCount.textContent = String(sorted.length);
}

function showRecovery(mode, text, data = {}) {
  recovery.hidden = !text;
  recovery.textContent = text;
  recovery.dataset.mode = mode;
  for (const [key, value] of Object.entries(data)) recovery.dataset[key] = String(value);
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function onResumed(event) {
  if (event.mode === "recovered") {
    showRecovery("recovered", `Reconnected after position ${event.after}: ${plural(event.count, "missed message")} shown.`, {
      after: event.after,
      count: event.count,
    });
  } else if (event.mode === "reset") {
    recovery.dataset.count = String(event.count);
  }
}

function onReset(event) {
  // What the page shows can't be brought up to date: start again from the room's history.
  messages.replaceChildren();
  lastPosition = null;
  const why = {
    epoch: "the room's history was lost (the server's Redis restarted or failed over)",
    too_old: "you were away longer than the room keeps messages",
    ahead: "the position is not one this room issued",
    invalid: "the position sent was not valid",
  }[event.reason] || event.reason;
  showRecovery("reset", `Could not recover what you missed after ${event.after}: ${why}. The room was reloaded.`, {
    after: event.after,
    reason: event.reason,
  });
}

function onMessage(event) {
  if (event.position) lastPosition = event.position;
  const replay = event.replay ? " replay" : "";
  switch (event.type) {
    case "joined":
      clearError();
      setJoined(event.room);
      break;
    case "resumed":
      onResumed(event);
      break;
    case "reset":
      onReset(event);
      break;
    case "presence":
      members = new Map(event.members.map((m) => [m.id, m]));
      renderPresence();
      break;
    case "message":
      appendItem(
        messages,
        el("li", { className: `entry message${replay}`, testid: "chat-message", data: { author: event.name, position: event.position } }, [
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
        el("li", {
          className: `entry notice${replay}`,
          testid: "chat-notice",
          data: { event: event.event, position: event.position },
          text: event.text,
        }),
      );
      if (event.event === "join") members.set(event.member.id, event.member);
      else members.delete(event.member.id);
      renderPresence();
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
  leaveRoom();
  // Called on every (re)connect: after the first, it says where the page was.
  const path = () => {
    const query = new URLSearchParams({ name });
    if (lastPosition) query.set("after", lastPosition);
    return `/ws/room/${encodeURIComponent(room)}?${query}`;
  };
  socket = new LiveSocket(path, { status, onMessage });
});

function leaveRoom() {
  messages.replaceChildren();
  lastPosition = null;
  members = new Map();
  renderPresence();
  showRecovery("", "");
  setJoined(null);
}

leaveButton.addEventListener("click", () => {
  if (socket) socket.close();
  socket = null;
  members = new Map(); // the messages stay on screen; who is here no longer applies
  renderPresence();
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

// Joins and leaves arrive as they happen, but nobody announces the members of a web
// process that crashed: they lapse from the server's list within 10 s. Asking again
// now and then (one Redis round trip) drops them from this page too.
const PRESENCE_REFRESH_MS = 10_000;
setInterval(() => {
  if (socket && currentRoom.dataset.room) socket.send({ type: "who" });
}, PRESENCE_REFRESH_MS);

submitOnEnter(messageInput, sendButton);
submitOnEnter(roomInput, joinButton);
setJoined(null);
