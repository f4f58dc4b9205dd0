// Health: a metrics snapshot arrives every second over /ws/health; the charts show
// the differences between snapshots as rates, and the event list says when a Redis
// connection went down, came back and healed.
import { LineChart } from "./charts.js";
import { $, appendItem, el, timeLabel } from "./dom.js";
import { LiveSocket } from "./socket.js";

const messages = new LineChart($("chart-messages"));
const deliveries = new LineChart($("chart-deliveries"), {
  colors: { deliveries: "#12a150", drops: "#d92d20" },
});
const links = new LineChart($("chart-links"), {
  colors: { connected: "#12a150", disconnected: "#d92d20", reconnects: "#4f46e5" },
});
const sockets = new LineChart($("chart-sockets"));
const linkList = $("health-links");
const events = $("health-events");

let previous = null; // the last snapshot, to turn counters into rates
const known = new Map(); // "alias shard" -> {connected, reconnects, heals}

function total(obj) {
  return Object.values(obj).reduce((a, b) => a + b, 0);
}

function event(kind, text) {
  appendItem(
    events,
    el("li", { className: `entry ${kind}`, testid: "health-event", data: { kind } }, [
      el("span", { className: "meta", text: timeLabel() }),
      el("span", { className: "text", text }),
    ]),
  );
}

function rate(now, before, key, seconds) {
  return before ? Math.max(0, (now[key] - before[key]) / seconds) : 0;
}

function update(snapshot) {
  const before = previous ? new Map(previous.layers.map((l) => [l.alias, l])) : null;
  const seconds = previous ? Math.max(0.001, snapshot.time - previous.time) : 1;
  const perLayer = {};
  let delivered = 0;
  let dropped = 0;
  for (const layer of snapshot.layers) {
    const old = before?.get(layer.alias);
    perLayer[layer.alias] =
      rate(layer, old, "sent", seconds) + rate(layer, old, "received", seconds);
    delivered += rate(layer, old, "deliveries", seconds) + rate(layer, old, "received", seconds);
    dropped += old ? Math.max(0, (total(layer.drops) - total(old.drops)) / seconds) : 0;
  }
  messages.push(perLayer);
  messages.legend($("legend-messages"), (v) => `${v.toFixed(1)}/s`);
  deliveries.push({ deliveries: delivered, drops: dropped });
  deliveries.legend($("legend-deliveries"), (v) => `${v.toFixed(1)}/s`);
  showLinks(snapshot);
  const open = {};
  for (const [name, c] of Object.entries(snapshot.consumers)) open[name] = c.open;
  sockets.push(open);
  sockets.legend($("legend-sockets"));
  previous = snapshot;
}

function showLinks(snapshot) {
  let up = 0;
  let down = 0;
  let reconnects = 0;
  linkList.replaceChildren();
  for (const layer of snapshot.layers) {
    for (const link of layer.links) {
      const key = `${layer.alias} ${link.address}`;
      const seen = known.get(key);
      if (seen && seen.connected && !link.connected) {
        event("disconnect", `${layer.alias}: lost Redis at ${link.address}`);
      }
      if (seen && link.reconnects > seen.reconnects) {
        event("reconnect", `${layer.alias}: reconnected to ${link.address} ` +
          `(${link.disconnected_seconds.toFixed(1)} s disconnected in total)`);
      }
      known.set(key, { connected: link.connected, reconnects: link.reconnects });
      if (link.connected) up += 1;
      else down += 1;
      reconnects += link.reconnects;
      linkList.append(
        el("li", {
          className: `link ${link.connected ? "up" : "down"}`,
          testid: "health-link",
          data: { alias: layer.alias, connected: String(link.connected), reconnects: String(link.reconnects) },
          text: `${layer.alias} → ${link.address}: ${link.connected ? "connected" : "DISCONNECTED"}` +
            ` · ${link.reconnects} reconnect(s) · ${link.disconnected_seconds.toFixed(1)} s down`,
        }),
      );
    }
    const seenHeals = known.get(`${layer.alias} heals`);
    if (seenHeals !== undefined && layer.heals > seenHeals.heals) {
      event("heal", `${layer.alias}: healed ${layer.healed - seenHeals.healed} membership(s)/subscription(s)`);
    }
    known.set(`${layer.alias} heals`, { heals: layer.heals, healed: layer.healed });
  }
  links.push({ connected: up, disconnected: down, reconnects });
  links.legend($("legend-links"));
}

new LiveSocket("/ws/health", {
  status: $("connection-status"),
  onMessage(data) {
    if (data.type === "health") update(data);
  },
});
