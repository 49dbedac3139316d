// One connection to /ui/events for every open dashboard tab of this browser.
//
// Browsers allow about six HTTP/1.1 connections per server; a live stream holds one for as
// long as the page is open, so with an EventSource per tab the seventh tab would hang.
// This SharedWorker holds the only stream and hands every event to every tab (live.js).
// EventSource reconnects by itself with Last-Event-ID, so nothing is missed while away.
// Each tab says where the event log stood when its page was read ("hello"): the first
// starts the stream there; a later one whose page is older than the stream's position
// is told it is "behind" and refreshes its live parts once.

const ports = new Set();
let source = null;
let state = "connecting";
// The last event id the stream has passed (where it started, then each event's id);
// null when it started at "now" without knowing where that was.
let position = null;

function broadcast(message) {
  for (const port of ports) {
    try {
      port.postMessage(message);
    } catch {
      ports.delete(port);
    }
  }
}

function connect(after) {
  position = after === null ? null : Number(after);
  source = new EventSource(after === null ? "/ui/events" : `/ui/events?after=${after}`);
  source.onopen = () => {
    state = "open";
    broadcast({ kind: "state", state });
  };
  source.onerror = () => {
    state = source.readyState === EventSource.CLOSED ? "closed" : "connecting";
    broadcast({ kind: "state", state });
    if (source.readyState === EventSource.CLOSED) {
      // The server refused the stream (signed out, too many streams): try again later.
      setTimeout(() => connect(position === null ? null : String(position)), 5000);
    }
  };
  source.onmessage = (message) => {
    const id = Number(message.lastEventId);
    if (Number.isFinite(id) && message.lastEventId !== "") position = id;
    broadcast({ kind: "event", data: message.data });
  };
}

self.onconnect = (e) => {
  const port = e.ports[0];
  ports.add(port);
  port.onmessage = (message) => {
    if (message.data === "bye") {
      ports.delete(port);
      return;
    }
    if (message.data && message.data.kind === "hello") hello(port, message.data.before);
  };
  port.start();
  port.postMessage({ kind: "state", state });
};

function hello(port, before) {
  const seen = /^[0-9]+$/.test(before || "") ? before : null;
  if (source === null) {
    connect(seen);
    return;
  }
  // The stream is past the point this page was read at (or does not know where it is):
  // what happened in between reached the other tabs, not this page.
  if (seen === null || position === null || position > Number(seen)) {
    port.postMessage({ kind: "behind" });
  }
}
