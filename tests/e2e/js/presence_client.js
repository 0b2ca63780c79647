// One browser tab on a presence topic, built on the OFFICIAL npm `phoenix` package:
// its Socket, and its Presence class applying presence_state and presence_diff.
//
//   node tests/e2e/js/presence_client.js '<json config>'
//
// Config (JSON, argv[2]):
//   url          "ws://127.0.0.1:8000/socket" (phoenix appends "/websocket")
//   params       connect params, e.g. {"app_key": "..."}
//   authToken    the JWT, sent by phoenix as its auth subprotocol
//   topic        the presence topic to join once the socket is open
//   lifetimeMs   hard bound on the whole run: past it the script exits 1 (default 60000)
//
// Commands on stdin, one JSON object a line: {"cmd": "quit"} (close the socket and exit 0;
// so does the end of stdin).
//
// Records on stdout, one JSON object a line:
//   {"type": "open"} | {"type": "close", "code"} | {"type": "error", "message"}
//   {"type": "join", "status": "ok"|"error"|"timeout", "response"}
//   {"type": "diff", "joins": {key: metas}, "leaves": {key: metas}}   each presence_diff as sent
//   {"type": "leave", "key", "left": metas, "remaining": metas}       Presence's onLeave
//   {"type": "sync", "members": {key: metas}}                         Presence's list() on onSync
//   {"type": "fatal", "message"}                                      then exit 1
// where "metas" is a number of metas (connections).

"use strict";

const readline = require("node:readline");
const { Presence, Socket } = require("phoenix");
const WebSocket = require("ws");

const config = JSON.parse(process.argv[2] || "{}");
const lifetimeMs = config.lifetimeMs || 60000;

function emit(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

function fatal(message) {
  emit({ type: "fatal", message });
  process.exit(1);
}

if (!config.url || !config.topic) fatal("config.url and config.topic are required");
const lifetime = setTimeout(() => fatal(`lifetime of ${lifetimeMs} ms exceeded`), lifetimeMs);

function counts(presences) {
  const out = {};
  for (const [key, presence] of Object.entries(presences || {})) out[key] = presence.metas.length;
  return out;
}

const socket = new Socket(config.url, {
  transport: WebSocket,
  params: config.params || {},
  authToken: config.authToken,
  timeout: 10000,
  // A tab whose server died stays down: the test watches what the survivors see.
  reconnectAfterMs: () => 10 * 60 * 1000,
});
socket.onOpen(() => emit({ type: "open" }));
socket.onError((error) => emit({ type: "error", message: String((error && error.message) || error) }));
socket.onClose((event) => emit({ type: "close", code: event.code }));

const channel = socket.channel(config.topic, {});
// Bound before the Presence's own handlers: the raw diff is recorded as the server sent it.
channel.on("presence_diff", (diff) =>
  emit({ type: "diff", joins: counts(diff.joins), leaves: counts(diff.leaves) }),
);
const presence = new Presence(channel);
presence.onLeave((key, current, left) =>
  emit({ type: "leave", key, left: left.metas.length, remaining: current ? current.metas.length : 0 }),
);
presence.onSync(() => {
  const members = {};
  presence.list((key, { metas }) => (members[key] = metas.length));
  emit({ type: "sync", members });
});

channel
  .join()
  .receive("ok", (response) => emit({ type: "join", status: "ok", response }))
  .receive("error", (response) => emit({ type: "join", status: "error", response }))
  .receive("timeout", () => emit({ type: "join", status: "timeout" }));

function quit() {
  clearTimeout(lifetime);
  socket.disconnect(() => process.exit(0), 1000, "bye");
  setTimeout(() => process.exit(0), 500); // disconnect's callback never runs on a dead socket
}

readline
  .createInterface({ input: process.stdin })
  .on("line", (line) => {
    if (!line.trim()) return;
    const command = JSON.parse(line);
    if (command.cmd === "quit") quit();
    else fatal(`unknown command ${line}`);
  })
  .on("close", quit);

process.on("uncaughtException", (e) => fatal(e.stack || String(e)));

socket.connect();
