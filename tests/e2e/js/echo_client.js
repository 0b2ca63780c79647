// A scriptable Laravel Echo client: the OFFICIAL npm `laravel-echo` with its "pusher"
// broadcaster over the official, unmodified `pusher-js`, for the e2e tests. Auth is signed
// by the official npm `pusher` library as a customer (Laravel) backend would.
//
//   node tests/e2e/js/echo_client.js '<json config>'
//
// Config: as pusher_client.js (key, wsHost, wsPort, appId, secret or PUSHER_APP_SECRET,
// auth, user, options, frames, debug, lifetimeMs), plus
//   client     true: build the pusher-js instance here and pass it as Echo's `client`;
//              false (default): pass the Pusher class as `Pusher` and let Echo build it
//   namespace  Echo's event namespace (default Echo's own, "App.Events")
//
// Commands, besides call / auth_response / quit:
//   {"cmd": "channel" | "private" | "join" | "encryptedPrivate", "name": "orders",
//    "listen": ["OrderShipped", ".raw-name"], "whispers": ["typing"]}
//        echo.channel / echo.private / echo.join (presence: here, joining, leaving) /
//        echo.encryptedPrivate; each name in "listen" goes through .listen, each in
//        "whispers" through .listenForWhisper.
//   {"cmd": "whisper", "kind": "private" | "join", "name": "orders", "event": "typing", "data": {...}}
//   {"cmd": "leave", "name": "orders"}      echo.leave (all kinds of that name)
//   {"cmd": "signin"}                       echo.connector.signin()
//   {"cmd": "disconnect"}
//
// Records:
//   {"type": "socket" | "close" | "state" | "connected" | "error", ...}   as pusher_client.js
//   {"type": "subscribed", "channel"}                   .subscribed()
//   {"type": "echo_error", "channel", "data"}           .error()
//   {"type": "echo_event", "channel", "event", "data"}  .listen (event as given)
//   {"type": "whisper", "channel", "event", "data"}     .listenForWhisper
//   {"type": "here", "channel", "users"} | {"type": "joining" | "leaving", "channel", "user"}
//   {"type": "whispered", "channel", "event"}           after .whisper returned
//   {"type": "ready"}                                   Echo is constructed

"use strict";

const PusherJs = require("pusher-js");
const common = require("./pusher_common");

const { emit, fatal } = common;
const config = common.readConfig("ECHO_CLIENT_CONFIG");
if (!config.key || !config.wsPort) fatal("config.key and config.wsPort are required");
const lifetime = common.startLifetime(config);
if (config.debug) PusherJs.log = (message) => process.stderr.write(message + "\n");
common.observeSockets(PusherJs, config);

const backend = common.makeBackend(config);
const auth = common.authHandlers(config, backend);

async function main() {
  const { default: Echo } = await import("laravel-echo");
  const options = Object.assign({ broadcaster: "pusher", key: config.key }, common.pusherOptions(config, auth));
  if (config.namespace !== undefined) options.namespace = config.namespace;
  if (config.client) options.client = new PusherJs(config.key, common.pusherOptions(config, auth));
  else options.Pusher = PusherJs;
  const echo = new Echo(options);
  const pusher = echo.connector.pusher;

  pusher.connection.bind("state_change", ({ previous, current }) => emit({ type: "state", previous, current }));
  pusher.connection.bind("connected", () => emit({ type: "connected", socket_id: echo.socketId() }));
  pusher.connection.bind("error", (error) => emit({ type: "error", error: common.serializeError(error) }));

  const value = (data) => (data === undefined ? null : data);

  function open(command) {
    const kind = command.cmd;
    const channel = echo[kind](command.name);
    const name = channel.name;
    channel.subscribed(() => emit({ type: "subscribed", channel: name }));
    channel.error((data) => emit({ type: "echo_error", channel: name, data: value(data) }));
    for (const event of command.listen || []) {
      channel.listen(event, (data) => emit({ type: "echo_event", channel: name, event, data: value(data) }));
    }
    for (const event of command.whispers || []) {
      channel.listenForWhisper(event, (data) => emit({ type: "whisper", channel: name, event, data: value(data) }));
    }
    if (kind === "join") {
      channel
        .here((users) => emit({ type: "here", channel: name, users }))
        .joining((user) => emit({ type: "joining", channel: name, user: value(user) }))
        .leaving((user) => emit({ type: "leaving", channel: name, user: value(user) }));
    }
  }

  function quit() {
    clearTimeout(lifetime);
    echo.disconnect();
    setTimeout(() => process.exit(0), 200);
  }

  common.commandLoop(
    {
      channel: open,
      private: open,
      join: open,
      encryptedPrivate: open,
      whisper: (c) => {
        const channel = echo[c.kind || "private"](c.name);
        channel.whisper(c.event, c.data === undefined ? {} : c.data);
        emit({ type: "whispered", channel: channel.name, event: c.event });
      },
      leave: (c) => echo.leave(c.name),
      signin: () => echo.connector.signin(),
      disconnect: () => echo.disconnect(),
      auth_response: (c) => auth.answer(c),
    },
    backend,
    quit,
  );
  emit({ type: "ready" });
}

main().catch((error) => fatal((error && error.stack) || String(error)));
