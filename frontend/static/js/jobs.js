// Job queue: submit over the socket, then the worker's progress arrives on it.
//
// Jobs belong to the browser session (a cookie), and its events are kept: on load
// the server replays the session's recent events (marked `replay`), so a reloaded
// page rebuilds each job's row in its current state; a reconnecting socket asks for
// what it missed after the last position it saw (`?after=`).
import { $, clearError, el, showError } from "./dom.js";
import { LiveSocket } from "./socket.js";

const kind = $("job-kind");
const steps = $("job-steps");
const submit = $("job-submit");
const list = $("jobs-list");
const rows = new Map();
let lastPosition = null; // "<epoch>:<offset>" of the last event shown

function row(jobId) {
  return rows.get(jobId);
}

function addRow(event) {
  if (rows.has(event.job_id)) return; // another tab of this session queued it too
  const bar = el("div", { className: "bar-fill" });
  const progress = el("div", { className: "bar", testid: "job-progress", data: { percent: "0" } }, [bar]);
  progress.setAttribute("role", "progressbar");
  progress.setAttribute("aria-valuemin", "0");
  progress.setAttribute("aria-valuemax", "100");
  progress.setAttribute("aria-valuenow", "0");
  const statusText = el("span", { className: "job-status", testid: "job-status", text: "Queued" });
  const result = el("span", { className: "job-result", testid: "job-result" });
  const item = el("li", { className: "job", testid: "job-row", data: { jobId: event.job_id, status: "queued", kind: event.kind } }, [
    el("div", { className: "job-head" }, [
      el("span", { className: "badge", text: event.kind }),
      el("code", { className: "job-id", text: event.job_id }),
      statusText,
    ]),
    progress,
    result,
  ]);
  list.prepend(item);
  $("jobs-empty").hidden = true;
  rows.set(event.job_id, { item, bar, progress, statusText, result });
}

function update(jobId, status, label, percent = null) {
  const r = row(jobId);
  if (!r) return null;
  r.item.dataset.status = status;
  r.statusText.textContent = label;
  if (percent !== null) {
    r.bar.style.width = `${percent}%`;
    r.progress.dataset.percent = String(percent);
    r.progress.setAttribute("aria-valuenow", String(percent));
  }
  return r;
}

function clearRows() {
  list.replaceChildren();
  rows.clear();
  $("jobs-empty").hidden = false;
}

const socket = new LiveSocket(() => (lastPosition ? `/ws/jobs?after=${encodeURIComponent(lastPosition)}` : "/ws/jobs"), {
  status: $("connection-status"),
  onMessage(event) {
    if (event.position) lastPosition = event.position;
    switch (event.type) {
      case "ready":
        if (!lastPosition) clearRows(); // a fresh replay of the session's jobs follows
        break;
      case "reset":
        clearRows(); // the kept events follow; older jobs are no longer known
        break;
      case "job.queued":
        addRow(event);
        break;
      case "job.progress":
        update(event.job_id, "running", `Step ${event.step} of ${event.steps}`, event.percent);
        break;
      case "job.completed": {
        const r = update(event.job_id, "completed", "Done", 100);
        if (r) r.result.textContent = event.text || String(event.result);
        break;
      }
      case "job.failed": {
        const r = update(event.job_id, "failed", "Failed");
        if (r) r.result.textContent = event.error;
        break;
      }
      case "error":
        showError(event);
        break;
    }
  },
});

submit.addEventListener("click", () => {
  clearError();
  const message = { type: "submit", kind: kind.value, steps: Number.parseInt(steps.value, 10) };
  if (!socket.send(message)) {
    showError({ code: "not_connected", message: "Not connected yet; try again in a moment." });
  }
});
