// Tiny DOM helpers. Every piece of text goes in through textContent, never
// innerHTML, so a message like <img src=x onerror=...> shows as text.

export function $(testid, root = document) {
  return root.querySelector(`[data-testid="${testid}"]`);
}

export function el(tag, { text = null, className = null, testid = null, data = {} } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== null) node.textContent = text;
  if (className) node.className = className;
  if (testid) node.dataset.testid = testid;
  for (const [key, value] of Object.entries(data)) node.dataset[key] = value;
  for (const child of children) node.append(child);
  return node;
}

const MAX_ITEMS = 200;

// Append to a list, newest last, keeping it short and scrolled to the bottom.
export function appendItem(list, item) {
  list.append(item);
  while (list.children.length > MAX_ITEMS) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
  const empty = list.parentElement?.querySelector(".empty");
  if (empty) empty.hidden = true;
}

export function timeLabel(seconds = Date.now() / 1000) {
  return new Date(seconds * 1000).toLocaleTimeString();
}

// Show an error event ({code, message}) in the page's alert area.
export function showError(event) {
  const box = $("error");
  if (!box) return;
  box.hidden = false;
  box.dataset.code = event.code || "error";
  box.textContent = event.message || "Something went wrong.";
}

export function clearError() {
  const box = $("error");
  if (box) {
    box.hidden = true;
    box.textContent = "";
  }
}

// Enter in `input` clicks `button`.
export function submitOnEnter(input, button) {
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      button.click();
    }
  });
}
