// Keep relative times ("3 min ago") current; the absolute UTC time stays in the title.

function relative(date) {
  let seconds = (Date.now() - date.getTime()) / 1000;
  const future = seconds < 0;
  seconds = Math.abs(seconds);
  if (seconds < 45) return future ? "in a few seconds" : "just now";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds >= size) {
      const amount = Math.round(seconds / size);
      return future ? `in ${amount} ${unit}` : `${amount} ${unit} ago`;
    }
  }
  return "just now";
}

function update(root) {
  for (const element of root.querySelectorAll("time[datetime]")) {
    const date = new Date(element.getAttribute("datetime"));
    if (!Number.isNaN(date.getTime())) element.textContent = relative(date);
  }
}

update(document);
setInterval(() => update(document), 30000);
// A part live.js swapped in, and the run state logs.js refreshes through htmx.
document.body.addEventListener("live:swapped", (e) => update(e.target));
document.body.addEventListener("htmx:afterSettle", (e) => update(e.detail.elt));
