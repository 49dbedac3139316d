// One connection to /ui/events for every open dashboard tab of this browser.
//
// Browsers allow about six HTTP/1.1 connections per server; a live stream holds one for as
// long as the page is open, so with an EventSource per tab the seventh tab would hang.
// This SharedWorker holds the only stream and hands every event to every tab (live.js).
// EventSource reconnects by itself with Last-Event-ID, so nothing is missed while away.
//
// The stream also pushes the tabs' live parts, rendered (dashboard/pushed.py): it is
// opened with ?watch= naming each tab's parts, and reopened (after the last event it
// passed) when tabs come or go. The stream's first frame says which tabs it pushes for,
// and each tab is told; one it does not push for (opened since, the list was full, the
// server took no list) fetches its own parts. A stream the server
// refuses is opened again without the list, so a refused list costs pushes, not events.
//
// Each tab says where the event log stood when its page was read ("hello"): the first
// starts the stream there; a later one whose page is older than the stream's position
// is told it is "behind" and fetches its live parts once.

const MAX_WATCH_CHARS = 6000; // the stream's URL stays well under servers' limits
const MAX_WATCH_PARTS = 32; // as dashboard/pushed.py allows
const MAX_WATCH_PAGES = 12; // distinct pages, as dashboard/pushed.py allows
const REWATCH_DELAY_MS = 300; // a page that navigates says bye, then hello: one reopen

const tabs = new Map(); // port -> { tab: "N", parts: [...] }
let nextTab = 1;
let source = null;
let state = "connecting";
// The last event id the stream has passed (where it started, then each event's id);
// null when it started at "now" without knowing where that was.
let position = null;
let watchedTabs = new Set(); // tab numbers the open stream pushes for
let watchRefused = false;
let rewatch = null;

function broadcast(message) {
  for (const port of tabs.keys()) {
    try {
      port.postMessage(message);
    } catch {
      tabs.delete(port);
    }
  }
}

function tellPushed() {
  const open = source !== null && source.readyState === EventSource.OPEN;
  for (const [port, tab] of tabs) {
    port.postMessage({ kind: "pushed", pushed: open && watchedTabs.has(tab.tab) });
  }
}

function watchList() {
  const chosen = [];
  const included = new Set();
  let chars = 2;
  const pages = new Set();
  if (watchRefused) return { chosen, included };
  for (const tab of tabs.values()) {
    const entries = tab.parts.map((part) => ({ tab: tab.tab, id: part.id, url: part.url, live: part.live }));
    const size = encodeURIComponent(JSON.stringify(entries)).length;
    const morePages = new Set([...pages, ...entries.map((entry) => entry.url)]);
    if (!entries.length || chosen.length + entries.length > MAX_WATCH_PARTS || morePages.size > MAX_WATCH_PAGES || chars + size > MAX_WATCH_CHARS) continue;
    chosen.push(...entries);
    included.add(tab.tab);
    for (const url of morePages) pages.add(url);
    chars += size;
  }
  return { chosen, included };
}

function connect(after) {
  if (source !== null) source.close();
  position = after === null ? null : Number(after);
  const { chosen, included } = watchList();
  const url = new URL("/ui/events", self.location.href);
  if (after !== null) url.searchParams.set("after", after);
  if (chosen.length) url.searchParams.set("watch", JSON.stringify(chosen));
  const opened = new EventSource(url.toString());
  source = opened;
  watchedTabs = new Set();
  opened.onopen = () => {
    state = "open";
    broadcast({ kind: "state", state });
  };
  // The server says which tabs it pushes for; only those stop fetching their parts.
  opened.addEventListener("watching", (message) => {
    try {
      watchedTabs = new Set(JSON.parse(message.data).filter((tab) => included.has(tab)));
    } catch {
      watchedTabs = new Set();
    }
    tellPushed();
  });
  opened.onerror = () => {
    if (source !== opened) return;
    state = opened.readyState === EventSource.CLOSED ? "closed" : "connecting";
    broadcast({ kind: "state", state });
    watchedTabs = new Set(); // a reconnect says again which tabs it pushes for
    tellPushed();
    if (opened.readyState === EventSource.CLOSED) {
      // The server refused the stream (signed out, too many streams, a list it would
      // not take): try again later, without the list.
      if (chosen.length) watchRefused = true;
      setTimeout(() => {
        if (source === opened) connect(position === null ? null : String(position));
      }, 5000);
    }
  };
  opened.onmessage = (message) => {
    const id = Number(message.lastEventId);
    if (Number.isFinite(id) && message.lastEventId !== "") {
      if (position !== null && id <= position) return; // already passed on before a reopen
      position = id;
    }
    broadcast({ kind: "event", data: message.data });
  };
  opened.addEventListener("part", (message) => {
    let part;
    try {
      part = JSON.parse(message.data);
    } catch {
      return;
    }
    for (const [port, tab] of tabs) {
      if (tab.tab === part.tab) port.postMessage({ kind: "part", id: part.id, html: part.html });
    }
  });
}

function tabsChanged() {
  watchRefused = false;
  if (rewatch !== null) clearTimeout(rewatch);
  rewatch = setTimeout(() => {
    rewatch = null;
    if (source !== null && tabs.size) connect(position === null ? null : String(position));
  }, REWATCH_DELAY_MS);
}

self.onconnect = (e) => {
  const port = e.ports[0];
  port.onmessage = (message) => {
    if (message.data === "bye") {
      tabs.delete(port);
      tabsChanged();
      return;
    }
    if (message.data && message.data.kind === "hello") hello(port, message.data);
    if (message.data && message.data.kind === "parts") {
      // A swap changed what the tab shows (other subjects): the stream is told again.
      const tab = tabs.get(port);
      if (tab && Array.isArray(message.data.parts)) {
        tab.parts = message.data.parts;
        tabsChanged();
      }
    }
  };
  port.start();
  port.postMessage({ kind: "state", state });
};

function hello(port, message) {
  const parts = Array.isArray(message.parts) ? message.parts : [];
  tabs.set(port, { tab: String(nextTab++), parts });
  const before = message.before;
  const seen = /^[0-9]+$/.test(before || "") ? before : null;
  if (source === null) {
    connect(seen);
    return;
  }
  port.postMessage({ kind: "pushed", pushed: false });
  tabsChanged();
  // The stream is past the point this page was read at (or does not know where it is):
  // what happened in between reached the other tabs, not this page.
  if (seen === null || position === null || position > Number(seen)) {
    port.postMessage({ kind: "behind" });
  }
}
