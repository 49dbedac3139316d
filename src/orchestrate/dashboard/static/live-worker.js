// One connection to /ui/events for every open dashboard tab of this browser.
//
// Browsers allow about six HTTP/1.1 connections per server; a live stream holds one for as
// long as the page is open, so with an EventSource per tab the seventh tab would hang.
// This SharedWorker holds the only stream and hands every event to every tab (live.js).
// EventSource reconnects by itself with Last-Event-ID, so nothing is missed while away.

const ports = new Set();
let source = null;
let state = "connecting";

function broadcast(message) {
  for (const port of ports) {
    try {
      port.postMessage(message);
    } catch {
      ports.delete(port);
    }
  }
}

function connect() {
  source = new EventSource("/ui/events");
  source.onopen = () => {
    state = "open";
    broadcast({ kind: "state", state });
  };
  source.onerror = () => {
    state = source.readyState === EventSource.CLOSED ? "closed" : "connecting";
    broadcast({ kind: "state", state });
    if (source.readyState === EventSource.CLOSED) {
      // The server refused the stream (signed out, too many streams): try again later.
      setTimeout(connect, 5000);
    }
  };
  source.onmessage = (message) => broadcast({ kind: "event", data: message.data });
}

self.onconnect = (e) => {
  const port = e.ports[0];
  ports.add(port);
  port.onmessage = (message) => {
    if (message.data === "bye") ports.delete(port);
  };
  port.start();
  port.postMessage({ kind: "state", state });
  if (source === null) connect();
};
