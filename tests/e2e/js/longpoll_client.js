// A scriptable client on the OFFICIAL npm `phoenix` package that speaks LONG-POLL, for the
// e2e tests of /socket/longpoll. Node 20 has no XMLHttpRequest; phoenix's Ajax then uses
// the global fetch (with AbortController), so no shim is needed.
//
//   node tests/e2e/js/longpoll_client.js '<json config>'
//
// Config (JSON, argv[2]):
//   url               "ws://127.0.0.1:8000/socket"; LongPoll rewrites it to
//                     "http://127.0.0.1:8000/socket/longpoll"
//   params            connect params, e.g. {"app_key": "...", "jwt": "..."}
//   authToken         the JWT; over long-poll phoenix sends it as X-Phoenix-AuthToken
//   fallbackMs        when set, start on WebSocket (npm `ws`) with phoenix's
//                     longPollFallbackMs = fallbackMs; otherwise transport: LongPoll
//   lifetimeMs        hard bound on the whole run: past it the script exits 1 (default 60000)
//
// Commands on stdin, one JSON object a line (as tests/e2e/js/phoenix_client.js):
//   {"cmd": "join", "topic": "room:1"}     a "presence:*" topic also gets phoenix's Presence
//   {"cmd": "push", "id": "p1", "topic": "room:1", "event": "new_message", "payload": {...}}
//   {"cmd": "quit"}                        disconnect and exit 0 (so does the end of stdin)
//
// Records on stdout, one JSON object a line:
//   {"type": "open", "transport": "LongPoll"|"WebSocket"}
//   {"type": "error", "message"} | {"type": "close", "code", "reason"}
//   {"type": "join", "topic", "status": "ok"|"error"|"timeout", "response"}
//   {"type": "reply", "id", "topic", "status": "ok"|"error"|"timeout", "response"}
//   {"type": "message", "topic", "event", "payload"}      every channel event but replies
//   {"type": "sync", "topic", "members": {key: metas}}    Presence's list() on onSync
//   {"type": "fatal", "message"}                          then exit 1

"use strict";

const readline = require("node:readline");
const { LongPoll, Presence, Socket } = require("phoenix");
const WebSocket = require("ws");

const config = JSON.parse(process.argv[2] || "{}");
const lifetimeMs = config.lifetimeMs || 60000;
const PUSH_TIMEOUT_MS = 10000;

function emit(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

function fatal(message) {
  emit({ type: "fatal", message });
  process.exit(1);
}

if (!config.url) fatal("config.url is required");
if (typeof fetch !== "function") fatal("this Node has no global fetch for phoenix's LongPoll");
const lifetime = setTimeout(() => fatal(`lifetime of ${lifetimeMs} ms exceeded`), lifetimeMs);

const options = {
  params: config.params || {},
  timeout: PUSH_TIMEOUT_MS,
  // A refused or lost session stays down: the tests look at what happened, once.
  reconnectAfterMs: () => 10 * 60 * 1000,
  logger: (kind, msg) => {
    if (kind === "transport") emit({ type: "log", kind, msg: String(msg) });
  },
};
if (config.authToken) options.authToken = config.authToken;
if (config.fallbackMs) {
  options.transport = WebSocket;
  options.longPollFallbackMs = config.fallbackMs;
} else {
  options.transport = LongPoll;
}

const socket = new Socket(config.url, options);
socket.onOpen(() =>
  emit({ type: "open", transport: socket.transport === LongPoll ? "LongPoll" : "WebSocket" }),
);
socket.onError((error) => emit({ type: "error", message: String((error && error.message) || error) }));
socket.onClose((event) => emit({ type: "close", code: event.code, reason: event.reason }));

const channels = new Map();

function channelFor(topic) {
  let channel = channels.get(topic);
  if (channel) return channel;
  channel = socket.channel(topic, {});
  // phoenix's documented hook, called for every message of the channel.
  channel.onMessage = (event, payload) => {
    if (event !== "phx_reply" && !event.startsWith("chan_reply_")) {
      emit({ type: "message", topic, event, payload });
    }
    return payload;
  };
  if (topic.startsWith("presence:")) {
    const presence = new Presence(channel);
    presence.onSync(() => {
      const members = {};
      presence.list((key, { metas }) => (members[key] = metas.length));
      emit({ type: "sync", topic, members });
    });
  }
  channels.set(topic, channel);
  return channel;
}

function join(topic) {
  const channel = channelFor(topic);
  channel
    .join()
    .receive("ok", (response) => emit({ type: "join", topic, status: "ok", response }))
    .receive("error", (response) => {
      emit({ type: "join", topic, status: "error", response });
      channel.leave(); // stop phoenix's automatic rejoin of a refused topic
      channels.delete(topic);
    })
    .receive("timeout", () => emit({ type: "join", topic, status: "timeout" }));
}

function push({ id, topic, event, payload }) {
  channelFor(topic)
    .push(event, payload || {})
    .receive("ok", (response) => emit({ type: "reply", id, topic, status: "ok", response }))
    .receive("error", (response) => emit({ type: "reply", id, topic, status: "error", response }))
    .receive("timeout", () => emit({ type: "reply", id, topic, status: "timeout" }));
}

function quit() {
  clearTimeout(lifetime);
  socket.disconnect(() => process.exit(0), 1000, "bye");
  setTimeout(() => process.exit(0), 500); // disconnect's callback needs an open socket
}

const commands = { join: (c) => join(c.topic), push, quit };

readline
  .createInterface({ input: process.stdin })
  .on("line", (line) => {
    if (!line.trim()) return;
    let command;
    try {
      command = JSON.parse(line);
    } catch (e) {
      fatal(`bad command line: ${line}`);
    }
    const handler = commands[command.cmd];
    if (!handler) fatal(`unknown command ${command.cmd}`);
    handler(command);
  })
  .on("close", quit);

process.on("uncaughtException", (e) => fatal(e.stack || String(e)));

socket.connect();
