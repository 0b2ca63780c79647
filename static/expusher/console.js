// The debug console of an application page (templates/organizations/_console.html).
//
// The log arrives as server-sent events from the page's own server (the dashboard
// session is the credential): each event is {"rows": [...]}, each row a notice with its
// kind, time, process and fields (realtime/console/rows.py). Rows are shown newest
// first; any kind this file does not know is shown with its fields all the same.
"use strict";

(function () {
  const root = document.getElementById("console");
  if (!root) return;
  const MAX_ROWS = 500; // older rows leave the page
  const log = document.getElementById("console-log");
  const status = document.getElementById("console-status");
  const filters = {
    channel: document.getElementById("console-filter-channel"),
    event: document.getElementById("console-filter-event"),
    kind: document.getElementById("console-filter-kind"),
  };
  const pauseButton = document.getElementById("console-pause");
  let paused = false;
  let held = []; // rows that came while paused

  const GROUPS = {
    connection_opened: "connection", connection_closed: "connection",
    connection_refused: "errors", refused: "errors", webhook_failed: "errors",
    subscribed: "subscription", unsubscribed: "subscription", cache_miss: "subscription",
    channel_occupied: "subscription", channel_vacated: "subscription",
    member_joined: "presence", member_left: "presence",
    api_message: "message", client_event: "message", webhook_sent: "webhook",
  };
  // Shown first, in this order; then whatever else the row has. "data" goes last.
  const ORDER = ["topic", "topics", "event", "socket_id", "protocol", "transport", "user_id",
    "origin", "code", "reason", "api", "credential", "url", "status", "events", "attempts",
    "error", "first", "last", "dropped"];
  const HIDDEN = new Set(["at", "kind", "process", "data"]);

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function time(ms) {
    const d = new Date(ms);
    return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }

  function channelsOf(row) {
    if (Array.isArray(row.topics)) return row.topics;
    return row.topic ? [row.topic] : [];
  }

  function span(cls, text) {
    const el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  function field(name, value) {
    const el = document.createElement("span");
    el.className = "field";
    const label = document.createElement("b");
    label.textContent = name.replaceAll("_", " ") + " ";
    el.append(label, Array.isArray(value) ? value.join(", ") : String(value));
    return el;
  }

  function render(row) {
    const li = document.createElement("li");
    li.dataset.kind = row.kind;
    li.dataset.group = GROUPS[row.kind] || "";
    li.dataset.channels = channelsOf(row).join("\n");
    li.dataset.event = row.event || "";
    li.append(span("at", time(row.at)), span("kind", row.kind.replaceAll("_", " ")));
    const names = ORDER.filter((n) => n in row).concat(
      Object.keys(row).filter((n) => !ORDER.includes(n) && !HIDDEN.has(n)));
    for (const name of names) {
      if (row[name] !== null && row[name] !== undefined && row[name] !== "") li.append(field(name, row[name]));
    }
    if (row.kind === "sampled") li.append(span("field", "(heavy traffic: rows left out in process " + row.process + ")"));
    if (row.data !== undefined && row.data !== null) li.append(span("data", String(row.data)));
    li.title = "process " + row.process;
    return li;
  }

  function matches(li) {
    const channel = filters.channel.value.trim();
    const event = filters.event.value.trim();
    const kind = filters.kind.value;
    if (channel && !li.dataset.channels.split("\n").some((c) => c.includes(channel))) return false;
    if (event && !li.dataset.event.includes(event)) return false;
    if (kind && li.dataset.group !== kind) return false;
    return true;
  }

  function show(rows) {
    for (const row of rows) {
      const li = render(row);
      li.hidden = !matches(li);
      log.prepend(li);
    }
    while (log.children.length > MAX_ROWS) log.lastElementChild.remove();
  }

  function refilter() {
    for (const li of log.children) li.hidden = !matches(li);
  }

  for (const input of Object.values(filters)) input.addEventListener("input", refilter);

  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (paused) {
      setStatus("paused", "paused");
    } else {
      show(held);
      held = [];
      setStatus("live", "live");
    }
  });
  document.getElementById("console-clear").addEventListener("click", () => {
    log.replaceChildren();
    held = [];
  });

  const stream = new EventSource(root.dataset.streamUrl);
  // "live" from the first row on: the server sends it once every process knows of
  // this console (with several processes, half a second after it opened).
  stream.addEventListener("error", () => setStatus("down", "reconnecting…"));
  stream.addEventListener("message", (message) => {
    const rows = JSON.parse(message.data).rows;
    if (paused) {
      held.push(...rows);
      setStatus("paused", "paused (" + held.length + " new)");
    } else {
      show(rows);
      setStatus("live", "live");
    }
  });

  // The event creator: the same publish path as a REST trigger, behind the session.
  const form = document.getElementById("event-creator");
  const result = document.getElementById("creator-result");
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const body = new FormData(form);
    result.textContent = "sending…";
    delete result.dataset.ok;
    try {
      const response = await fetch(root.dataset.sendUrl, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": body.get("csrfmiddlewaretoken") },
        credentials: "same-origin",
      });
      const answer = await response.json();
      result.dataset.ok = String(response.ok);
      result.textContent = response.ok ? "Sent." : answer.error.message;
    } catch (error) {
      result.dataset.ok = "false";
      result.textContent = "Could not send: " + error;
    }
  });
})();
