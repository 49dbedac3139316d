// Live pages: one EventSource per page on /ui/events; parts of the page that declare
// data-live="TOKENS" are refreshed (through htmx) when an event matches one of TOKENS.
// A token matches an event whose type starts with it ("agent." matches "agent.started")
// or whose subject equals it ("agt_01J..."). Refreshes of one part are throttled: at most
// one request in flight and one queued, so a burst of events costs two fetches, not fifty.
// EventSource reconnects by itself and sends Last-Event-ID; the server resumes after it,
// so the page misses nothing while it was away.

const MIN_INTERVAL_MS = 250;

function matches(element, event) {
  const tokens = (element.dataset.live || "").split(/\s+/).filter(Boolean);
  return tokens.some((token) => token === event.subject || event.type.startsWith(token));
}

// Throttling is kept per part id: a refreshed part is a new element with the same id.
const parts = new Map();

function refresh(element) {
  const id = element.id;
  const state = parts.get(id) || { busy: false, pending: false };
  parts.set(id, state);
  if (state.busy) {
    state.pending = true;
    return;
  }
  state.busy = true;
  state.pending = false;
  htmx.trigger(element, "live");
}

document.body.addEventListener("htmx:afterRequest", (e) => {
  const element = e.detail.elt;
  if (!element || !element.id || !parts.has(element.id)) return;
  const id = element.id;
  setTimeout(() => {
    const state = parts.get(id);
    state.busy = false;
    if (state.pending) {
      const current = document.getElementById(id);
      if (current) refresh(current);
    }
  }, MIN_INTERVAL_MS);
});

function connect() {
  if (!document.querySelector("[data-live]")) return;
  const status = document.getElementById("live-status");
  const source = new EventSource("/ui/events");
  source.onopen = () => {
    if (status) {
      status.textContent = "Live";
      status.dataset.state = "open";
    }
  };
  source.onerror = () => {
    if (status) {
      status.textContent = "Reconnecting…";
      status.dataset.state = "closed";
    }
  };
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    document.body.dataset.lastEventId = String(event.id);
    for (const element of document.querySelectorAll("[data-live]")) {
      if (matches(element, event)) refresh(element);
    }
  };
}

connect();
