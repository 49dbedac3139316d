// The run page, live: one EventSource on /ui/runs/ID/logs brings each step's new log
// text ("log"), says when a run or step changed ("changed": the part of the page that
// shows states is fetched again and swapped in, the logs kept) and when the run is over
// ("end"). Offsets are bytes of each step's log file: a <pre data-step data-offset>
// holds its log up to data-offset, so a piece that overlaps what it has is trimmed, a
// piece after a gap is marked, and a reconnection asks for what comes after each offset.
// Long logs stay fast: a <pre> keeps only its newest MAX_CHARS characters; the rest is
// on the step's own log page.

// A classic script shares its global scope with live.js and the others: keep to ours.
(() => {
  const MAX_CHARS = 200000;
  const MIN_REFRESH_MS = 250;
  const ENDED = new Set(["success", "failure", "cancelled"]);

  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  function stateElement() {
    return document.getElementById("run-state");
  }

  function setStatus(text, state) {
    const status = document.getElementById("live-status");
    if (!status) return;
    status.textContent = text;
    status.dataset.state = state;
  }

  function logFor(step) {
    for (const pre of document.querySelectorAll("pre[data-step]")) {
      if (pre.dataset.step === step) return pre;
    }
    return null;
  }

  // The part of `text` (which starts at byte `start`) after byte `have`.
  function after(text, start, have) {
    return decoder.decode(encoder.encode(text).slice(have - start));
  }

  function append(piece) {
    const pre = logFor(piece.step);
    if (!pre) return;
    let text = piece.text;
    if (piece.start !== null) {
      const have = Number(pre.dataset.offset || "0");
      if (piece.end <= have) return;
      if (piece.start < have) text = after(text, piece.start, have);
      else if (piece.start > have) text = "… (earlier lines skipped: see the whole log)\n" + text;
      pre.dataset.offset = String(piece.end);
    }
    const following = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.append(text);
    if (pre.textContent.length > MAX_CHARS) {
      const kept = pre.textContent.slice(-Math.floor(MAX_CHARS * 0.75));
      pre.textContent = "… (earlier lines are on the whole log's page)\n" + kept.slice(kept.indexOf("\n") + 1);
    }
    if (following) pre.scrollTop = pre.scrollHeight;
  }

  // At most one refresh in flight and one queued: a burst of changes costs two fetches.
  const refreshing = { busy: false, pending: false };

  function refreshState() {
    const element = stateElement();
    if (!element) return;
    if (refreshing.busy) {
      refreshing.pending = true;
      return;
    }
    refreshing.busy = true;
    refreshing.pending = false;
    htmx
      .ajax("GET", element.dataset.stateUrl, { target: "#run-state", select: "#run-state", swap: "outerHTML" })
      .catch(() => {})
      .finally(() => {
        setTimeout(() => {
          refreshing.busy = false;
          if (refreshing.pending) refreshState();
        }, MIN_REFRESH_MS);
      });
  }

  let source = null;
  let retryMs = 1000;
  let afterId = 0;

  function streamUrl(element) {
    const url = new URL(element.dataset.logsUrl, location.href);
    url.searchParams.set("after", String(afterId));
    for (const pre of document.querySelectorAll("pre[data-step]")) {
      url.searchParams.append("step", pre.dataset.step);
      url.searchParams.append("offset", pre.dataset.offset || "0");
    }
    return url.toString();
  }

  function connect(isReconnection) {
    const element = stateElement();
    if (!element) return;
    source = new EventSource(streamUrl(element));
    source.onopen = () => {
      retryMs = 1000;
      setStatus("Live", "open");
      if (isReconnection) refreshState(); // changes made while away
    };
    source.addEventListener("log", (message) => append(JSON.parse(message.data)));
    source.addEventListener("changed", (message) => {
      const data = JSON.parse(message.data);
      if (data.after) afterId = data.after;
      refreshState();
    });
    source.addEventListener("end", () => {
      source.close();
      setStatus("Run finished", "open");
      refreshState();
    });
    source.onerror = () => {
      // Reconnect ourselves: the browser would ask again with the offsets of the first
      // connection, and get lines the page already shows.
      source.close();
      setStatus("Reconnecting…", "closed");
      setTimeout(() => connect(true), retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }

  const initial = stateElement();
  if (initial) {
    afterId = Number(initial.dataset.after || "0");
    if (ENDED.has(initial.dataset.status)) setStatus("Run finished", "open");
    else connect(false);
  }
})();
