// Live pages: parts of a page that declare data-live="TOKENS" (and data-live-url, the page
// they are cut from) change when an event matches one of TOKENS. A token matches an event
// whose type starts with it ("agent." matches "agent.started") or whose subject equals it
// ("agt_01J..."). The events come from one stream per browser (live-worker.js), and so
// do the parts: the stream is told which parts this tab shows and sends each changed part
// rendered (dashboard/pushed.py), so the page fetches nothing. A tab the stream does not
// push for yet (just opened) fetches a changed part itself, at most once per interval.
// Nothing is missed while the page loads: the page says where the event log stood before
// the server read it (data-events-before); a stream already past that point makes the
// page fetch its live parts once.
// A part is swapped in place by this script: the new element replaces the old one (or,
// with data-live-swap="inner", its children replace the old one's), elements marked
// hx-preserve keep their old selves (what a person typed, a fold they opened), and focus
// stays where it was.

const MIN_INTERVAL_MS = 250;

// Whether the stream pushes this tab's parts (the stream says so when it opens); shown
// on the status line as data-pushed, for people and tests to see how the page is fed.
let pushed = false;

function setPushed(value) {
  pushed = value;
  const status = document.getElementById("live-status");
  if (status) status.dataset.pushed = value ? "true" : "false";
}

function matches(element, event) {
  const tokens = (element.dataset.live || "").split(/\s+/).filter(Boolean);
  return tokens.some((token) => token === event.subject || event.type.startsWith(token));
}

function watchedParts() {
  const watched = [];
  for (const element of document.querySelectorAll("[data-live][data-live-url]")) {
    if (element.id) watched.push({ id: element.id, url: element.dataset.liveUrl, live: element.dataset.live });
  }
  return watched;
}

// Swaps so far per part id: a fetch that began before a newer version was swapped in
// (pushed meanwhile) does not put its older one back.
const generations = new Map();

function swap(id, html) {
  generations.set(id, (generations.get(id) || 0) + 1);
  const current = document.getElementById(id);
  if (!current) return;
  const template = document.createElement("template");
  template.innerHTML = html;
  const fresh = template.content.getElementById(id);
  if (!fresh) return;
  const focused = document.activeElement;
  const keepFocus = focused && focused !== document.body && current.contains(focused) ? focused : null;
  const selection = keepFocus && typeof keepFocus.selectionStart === "number"
    ? [keepFocus.selectionStart, keepFocus.selectionEnd] : null;
  for (const kept of fresh.querySelectorAll("[hx-preserve][id]")) {
    const old = document.getElementById(kept.id);
    if (old) kept.replaceWith(old);
  }
  let swapped = fresh;
  if (current.dataset.liveSwap === "inner") {
    current.replaceChildren(...fresh.childNodes);
    swapped = current;
  } else {
    current.replaceWith(fresh);
  }
  if (keepFocus && keepFocus.id && document.activeElement !== keepFocus) {
    const again = document.getElementById(keepFocus.id);
    if (again) {
      again.focus({ preventScroll: true });
      if (selection && typeof again.setSelectionRange === "function") again.setSelectionRange(...selection);
    }
  }
  swapped.dispatchEvent(new CustomEvent("live:swapped", { bubbles: true }));
  partsChanged();
}

// Fetches are throttled per part id: at most one per MIN_INTERVAL_MS and one in flight;
// events that arrive meanwhile fold into one trailing fetch.
const parts = new Map();

function refresh(id) {
  const state = parts.get(id) || { last: 0, timer: null, busy: false, again: false };
  parts.set(id, state);
  if (state.timer !== null) return;
  if (state.busy) {
    state.again = true;
    return;
  }
  const wait = Math.max(0, state.last + MIN_INTERVAL_MS - Date.now());
  state.timer = setTimeout(() => {
    state.timer = null;
    state.last = Date.now();
    fetchPart(id, state);
  }, wait);
}

async function fetchPart(id, state) {
  const current = document.getElementById(id);
  if (!current || !current.dataset.liveUrl) return;
  state.busy = true;
  const generation = generations.get(id) || 0;
  try {
    const headers = { "HX-Request": "true", "HX-Target": id };
    const seen = document.body.dataset.lastEventId;
    if (seen) headers["X-Orchestrate-Seen"] = seen;
    const response = await fetch(current.dataset.liveUrl, { headers, credentials: "same-origin" });
    const signIn = response.headers.get("HX-Redirect");
    if (signIn) {
      window.location.assign(signIn);
      return;
    }
    const html = response.ok ? await response.text() : null;
    if (html !== null && (generations.get(id) || 0) === generation) swap(id, html);
  } catch {
    // The next event fetches again; the status line shows a lost stream.
  } finally {
    state.busy = false;
    if (state.again) {
      state.again = false;
      refresh(id);
    }
  }
}

function onEvent(data) {
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return;
  }
  document.body.dataset.lastEventId = String(event.id);
  if (pushed) return;
  for (const element of document.querySelectorAll("[data-live]")) {
    if (element.id && matches(element, event)) refresh(element.id);
  }
}

function showState(state) {
  const status = document.getElementById("live-status");
  if (!status) return;
  status.textContent = state === "open" ? "Live" : "Reconnecting…";
  status.dataset.state = state === "open" ? "open" : "closed";
}

function refreshAll() {
  for (const element of document.querySelectorAll("[data-live]")) {
    if (element.id) refresh(element.id);
  }
}

// What the stream was last told this tab shows; a swap that changes it (a part whose new
// version names other subjects) tells it again.
let announced = "";
let announce = () => {};

function partsChanged() {
  const parts = JSON.stringify(watchedParts());
  if (parts !== announced) {
    announced = parts;
    announce(JSON.parse(parts));
  }
}

function connect() {
  if (!document.querySelector("[data-live]")) return;
  const before = document.body.dataset.eventsBefore || "";
  const watched = watchedParts();
  announced = JSON.stringify(watched);
  // One stream for all tabs (live-worker.js) where the browser has shared workers; a
  // stream per tab elsewhere.
  if (typeof SharedWorker === "function") {
    const worker = new SharedWorker(document.body.dataset.liveWorker || "/ui/static/live-worker.js");
    worker.port.onmessage = (message) => {
      const data = message.data;
      if (data.kind === "event") onEvent(data.data);
      else if (data.kind === "part") swap(data.id, data.html);
      else if (data.kind === "pushed") setPushed(data.pushed);
      else if (data.kind === "state") showState(data.state);
      else if (data.kind === "behind") refreshAll();
    };
    worker.port.start();
    worker.port.postMessage({ kind: "hello", before, parts: watched });
    announce = (parts) => worker.port.postMessage({ kind: "parts", parts });
    window.addEventListener("pagehide", () => worker.port.postMessage("bye"));
    return;
  }
  ownStream(before, watched);
  announce = (parts) => ownStream(document.body.dataset.lastEventId || before, parts);
}

// This tab's own stream, where there are no shared workers; reopened (after the last
// event it got) when its parts change, and without the list if the server refused it.
let own = null;

function ownStream(after, watched) {
  if (own !== null) own.close();
  const url = new URL("/ui/events", window.location.href);
  if (after) url.searchParams.set("after", after);
  if (watched.length) url.searchParams.set("watch", JSON.stringify(watched.map((part) => ({ ...part, tab: "0" }))));
  const source = new EventSource(url.toString());
  own = source;
  setPushed(false); // until the stream says it pushes for this tab ("watching")
  source.onopen = () => showState("open");
  source.onerror = () => {
    if (own !== source) return;
    setPushed(false); // a reconnect says again whether it pushes
    showState("connecting");
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(() => {
        if (own === source) ownStream(document.body.dataset.lastEventId || after, []);
      }, 5000);
    }
  };
  source.addEventListener("watching", (message) => {
    try {
      setPushed(JSON.parse(message.data).includes("0"));
    } catch {
      setPushed(false);
    }
  });
  source.onmessage = (message) => onEvent(message.data);
  source.addEventListener("part", (message) => {
    const part = JSON.parse(message.data);
    swap(part.id, part.html);
  });
}

connect();
