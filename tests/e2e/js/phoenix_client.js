// A scriptable client built on the OFFICIAL npm `phoenix` package, for the e2e tests.
//
//   node tests/e2e/js/phoenix_client.js '<json config>'
//
// Config (JSON, argv[2] or the PHOENIX_CLIENT_CONFIG environment variable):
//   url          "ws://127.0.0.1:8000/socket" (phoenix appends "/websocket")
//   params       connect params, e.g. {"app_key": "...", "jwt": "..."}
//   authToken    sent by phoenix as the "base64url.bearer.phx.*" subprotocol (not in the URL)
//   vsn          serializer version; "1.0.0" also switches to a JSON-object encoder/decoder
//   lifetimeMs   hard bound on the whole run: past it the script exits 1 (default 30000)
//   reconnect    false (default) keeps phoenix from reconnecting after a close
//
// Commands arrive on stdin, one JSON object per line:
//   {"cmd": "join", "topic": "room:1"}
//   {"cmd": "push", "id": "p1", "topic": "room:1", "event": "new_message", "payload": {...}}
//   {"cmd": "push", ..., "payload_b64": "AAH/"}   pushes those bytes as an ArrayBuffer
//   {"cmd": "leave", "topic": "room:1"}
//   {"cmd": "quit"}                  disconnect and exit 0 (so does the end of stdin)
//
// Everything observed is printed on stdout, one JSON object per line:
//   {"type": "open"} | {"type": "error", "message"} | {"type": "close", "code", "wasClean"}
//   {"type": "join", "topic", "status": "ok"|"error"|"timeout", "response"}
//   {"type": "reply", "id", "topic", "status": "ok"|"error"|"timeout", "response"}
//   {"type": "message", "topic", "event", "payload"}   every channel event but replies
//                                      (a binary payload arrives as "payload_b64" instead)
//   {"type": "fatal", "message"}                        then exit 1

"use strict";

const readline = require("node:readline");
const { Socket } = require("phoenix");
const WebSocket = require("ws");

const config = JSON.parse(process.argv[2] || process.env.PHOENIX_CLIENT_CONFIG || "{}");
const PUSH_TIMEOUT_MS = 10000;

function emit(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

function fatal(message) {
  emit({ type: "fatal", message });
  process.exit(1);
}

if (!config.url) fatal("config.url is required");

const lifetime = setTimeout(
  () => fatal(`lifetime of ${config.lifetimeMs || 30000} ms exceeded`),
  config.lifetimeMs || 30000,
);

// Serializer 1.0.0 sends and receives plain objects (phoenix.js before 1.4 did this).
const v1 = {
  encode: (msg, callback) =>
    callback(JSON.stringify({ topic: msg.topic, event: msg.event, payload: msg.payload, ref: msg.ref, join_ref: msg.join_ref })),
  decode: (raw, callback) => callback(JSON.parse(raw)),
};

const options = {
  transport: WebSocket,
  params: config.params || {},
  timeout: PUSH_TIMEOUT_MS,
  heartbeatIntervalMs: config.heartbeatIntervalMs || 30000,
};
if (config.authToken) options.authToken = config.authToken;
if (config.vsn) options.vsn = config.vsn;
if (config.vsn && config.vsn.startsWith("1.")) Object.assign(options, v1);
if (!config.reconnect) options.reconnectAfterMs = () => 10 * 60 * 1000;

const socket = new Socket(config.url, options);
socket.onOpen(() => emit({ type: "open" }));
socket.onError((error) => emit({ type: "error", message: String((error && error.message) || error) }));
socket.onClose((event) => emit({ type: "close", code: event.code, wasClean: event.wasClean }));

const channels = new Map();

function channelFor(topic) {
  let channel = channels.get(topic);
  if (!channel) {
    channel = socket.channel(topic, {});
    // phoenix's documented hook, called for every message of the channel.
    channel.onMessage = (event, payload) => {
      if (event !== "phx_reply" && !event.startsWith("chan_reply_")) {
        if (payload instanceof ArrayBuffer) {
          emit({ type: "message", topic, event, payload_b64: Buffer.from(payload).toString("base64") });
        } else {
          emit({ type: "message", topic, event, payload });
        }
      }
      return payload;
    };
    channels.set(topic, channel);
  }
  return channel;
}

function join(topic) {
  const channel = channelFor(topic);
  channel
    .join()
    .receive("ok", (response) => emit({ type: "join", topic, status: "ok", response }))
    .receive("error", (response) => {
      emit({ type: "join", topic, status: "error", response });
      // Stop phoenix's automatic rejoin of a refused topic.
      channel.leave();
      channels.delete(topic);
    })
    .receive("timeout", () => emit({ type: "join", topic, status: "timeout" }));
}

function push({ id, topic, event, payload, payload_b64 }) {
  if (payload_b64 !== undefined) {
    const bytes = Buffer.from(payload_b64, "base64");
    payload = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  }
  channelFor(topic)
    .push(event, payload || {})
    .receive("ok", (response) => emit({ type: "reply", id, topic, status: "ok", response }))
    .receive("error", (response) => emit({ type: "reply", id, topic, status: "error", response }))
    .receive("timeout", () => emit({ type: "reply", id, topic, status: "timeout" }));
}

function quit() {
  clearTimeout(lifetime);
  socket.disconnect(() => process.exit(0), 1000, "bye");
  // disconnect's callback does not run when the socket never opened.
  setTimeout(() => process.exit(0), 500);
}

const commands = {
  join: (c) => join(c.topic),
  push,
  leave: (c) => {
    const channel = channels.get(c.topic);
    if (channel) channel.leave();
    channels.delete(c.topic);
  },
  quit,
};

readline.createInterface({ input: process.stdin }).on("line", (line) => {
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
}).on("close", quit);

process.on("uncaughtException", (e) => fatal(e.stack || String(e)));

socket.connect();
