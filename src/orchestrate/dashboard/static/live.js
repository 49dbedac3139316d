// Live pages: one EventSource per page on /ui/events; parts of the page that declare
// data-live="TOKENS" are refreshed (through htmx) when an event matches one of TOKENS.
// A token matches an event whose type starts with it ("agent." matches "agent.started")
// or whose subject equals it ("agt_01J..."). Refreshes of one part are throttled: at most
// one refresh per interval, so a burst of events costs two fetches, not fifty.
// The stream itself is shared by every tab of the browser (live-worker.js): browsers allow
// about six connections per server, and each stream holds one. EventSource reconnects by
// itself and sends Last-Event-ID; the server resumes after it, so nothing is missed.
// Nor is a change made while the page loads: the page says where the event log stood
// before the server read it (data-events-before); a stream of its own starts there, and
// a shared stream already past that point makes the page refresh its live parts once.

const MIN_INTERVAL_MS = 250;

function matches(element, event) {
  const tokens = (element.dataset.live || "").split(/\s+/).filter(Boolean);
  return tokens.some((token) => token === event.subject || event.type.startsWith(token));
}

// Throttling is kept per part id (a refreshed part is a new element with the same id):
// at most one refresh of a part per MIN_INTERVAL_MS, and events that arrive meanwhile are
// folded into one trailing refresh. htmx's hx-sync on the part (queue last) keeps a
// refresh from overtaking one still in flight.
const parts = new Map();

function refresh(element) {
  const id = element.id;
  const state = parts.get(id) || { last: 0, timer: null };
  parts.set(id, state);
  if (state.timer !== null) return;
  const wait = Math.max(0, state.last + MIN_INTERVAL_MS - Date.now());
  state.timer = setTimeout(() => {
    state.timer = null;
    state.last = Date.now();
    const current = document.getElementById(id);
    if (current) htmx.trigger(current, "live");
  }, wait);
}

function onEvent(data) {
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return;
  }
  document.body.dataset.lastEventId = String(event.id);
  for (const element of document.querySelectorAll("[data-live]")) {
    if (matches(element, event)) refresh(element);
  }
}

// A live refresh says which event the page last got: the server may then answer many
// open pages asking at once with one render made since it read that event (shared.py).
document.body.addEventListener("htmx:configRequest", (e) => {
  const seen = document.body.dataset.lastEventId;
  if (seen && e.detail.elt.hasAttribute("data-live")) {
    e.detail.headers["X-Orchestrate-Seen"] = seen;
  }
});

function showState(state) {
  const status = document.getElementById("live-status");
  if (!status) return;
  status.textContent = state === "open" ? "Live" : "Reconnecting…";
  status.dataset.state = state === "open" ? "open" : "closed";
}

function refreshAll() {
  for (const element of document.querySelectorAll("[data-live]")) refresh(element);
}

function connect() {
  if (!document.querySelector("[data-live]")) return;
  const before = document.body.dataset.eventsBefore || "";
  // One stream for all tabs (live-worker.js) where the browser has shared workers; a
  // stream per tab elsewhere.
  if (typeof SharedWorker === "function") {
    const worker = new SharedWorker(document.body.dataset.liveWorker || "/ui/static/live-worker.js");
    worker.port.onmessage = (message) => {
      if (message.data.kind === "event") onEvent(message.data.data);
      else if (message.data.kind === "state") showState(message.data.state);
      else if (message.data.kind === "behind") refreshAll();
    };
    worker.port.start();
    worker.port.postMessage({ kind: "hello", before });
    window.addEventListener("pagehide", () => worker.port.postMessage("bye"));
    return;
  }
  const source = new EventSource(before ? `/ui/events?after=${encodeURIComponent(before)}` : "/ui/events");
  source.onopen = () => showState("open");
  source.onerror = () => showState("connecting");
  source.onmessage = (message) => onEvent(message.data);
}

connect();
