// A scriptable client built on the OFFICIAL, unmodified npm `pusher-js` (Node build), for
// the e2e tests; the customer backend that signs its auth is the official npm `pusher`.
//
//   node tests/e2e/js/pusher_client.js '<json config>'
//
// Config (JSON, argv[2] or PUSHER_CLIENT_CONFIG; the secret may come from PUSHER_APP_SECRET):
//   key, wsHost ("127.0.0.1"), wsPort    where pusher-js connects: ws://host:port/app/{key}
//   appId, secret                        the customer backend's credentials (npm `pusher`)
//   httpHost, httpPort                   its HTTP API (default: wsHost, wsPort)
//   auth          "local" (sign here, default) or "ask" (see pusher_common.js)
//   user          {"id": "u1", "info": {...}} for presence channel_data and signin
//   userData      extra fields merged into the signin user data
//   signinSecret  sign the signin with this secret instead (a forged signature)
//   encryptionMasterKeyBase64   for private-encrypted- channels (backend side)
//   options       extra pusher-js options (e.g. {"activityTimeout": 2000})
//   frames        true: also emit every raw frame ("frame_in" / "frame_out")
//   debug         true: pusher-js logs to stderr
//   lifetimeMs    hard bound on the whole run: past it the script exits 1 (default 60000)
//
// Commands (stdin, one JSON object per line), besides call / auth_response / quit:
//   {"cmd": "subscribe", "channel": "private-x", "bind": ["client-typing"],
//    "user": {"user_id": "u2", "user_info": {}}, "secret": "forged", "error": "no"}
//        "bind" names events bound with channel.bind, whose records carry user_id
//        (pusher-js only passes that metadata to named bindings); every other event is
//        reported through channel.bind_global, without user_id.
//   {"cmd": "unsubscribe", "channel": "x"}
//   {"cmd": "trigger", "channel": "private-x", "event": "client-e", "data": {...}}
//        a client event through channel.trigger; emits {"type": "triggered", ok}
//   {"cmd": "signin"}              pusher.signin()
//   {"cmd": "send_event", "event", "data", "channel"}   pusher.send_event (any frame pusher-js can send)
//   {"cmd": "send_raw", "raw": "text"}                  a raw text frame on the current socket
//   {"cmd": "disconnect"} | {"cmd": "connect"}
//   {"cmd": "state"}               emits {"type": "state_now", "state", "socket_id"}
//
// Records (stdout):
//   {"type": "socket", "url"}                 pusher-js opened a WebSocket to url
//   {"type": "state", "previous", "current"}  connection state changes
//   {"type": "connected", "socket_id"}
//   {"type": "error", "error": {"type", "data": {"code", "message"}, ...}}   connection errors
//   {"type": "close", "code", "reason"}       the raw WebSocket closed
//   {"type": "subscription_succeeded", "channel", "data"}  ("members" on presence:
//        {"count", "me": {"id", "info"}, "hash": {id: info}})
//   {"type": "subscription_error", "channel", "data"}
//   {"type": "subscription_count", "channel", "data"}
//   {"type": "cache_miss", "channel"}
//   {"type": "member_added" | "member_removed", "channel", "user_id", "user_info"}
//   {"type": "event", "channel", "event", "data", "user_id"?}
//   {"type": "signin_success", "user_data"} | {"type": "signin_error", "data"}
//   {"type": "user_event", "event", "data"}   events on #server-to-user-{id} (pusher.user)
//   {"type": "pusher_error", "data"}          a pusher:error frame (also in "error")
//   {"type": "result", ...} | {"type": "auth_request", ...} (see pusher_common.js)
//   {"type": "fatal", "message"}              then exit 1

"use strict";

const Pusher = require("pusher-js");
const common = require("./pusher_common");

const { emit, fatal } = common;
const config = common.readConfig("PUSHER_CLIENT_CONFIG");
if (!config.key || !config.wsPort) fatal("config.key and config.wsPort are required");
const lifetime = common.startLifetime(config);

if (config.debug) Pusher.log = (message) => process.stderr.write(message + "\n");

let currentSocket = null;
common.observeSockets(Pusher, config, (socket) => {
  currentSocket = socket;
});

const backend = common.makeBackend(config);
const auth = common.authHandlers(config, backend);
const pusher = new Pusher(config.key, common.pusherOptions(config, auth));

pusher.connection.bind("state_change", ({ previous, current }) => emit({ type: "state", previous, current }));
pusher.connection.bind("connected", () => emit({ type: "connected", socket_id: pusher.connection.socket_id }));
pusher.connection.bind("error", (error) => emit({ type: "error", error: common.serializeError(error) }));
pusher.connection.bind("message", (message) => {
  if (message.event === "pusher:signin_success") {
    let userData = message.data && message.data.user_data;
    try {
      userData = JSON.parse(userData);
    } catch (e) {
      /* keep it as sent */
    }
    emit({ type: "signin_success", user_data: userData });
  } else if (message.event === "pusher:error") {
    emit({ type: "pusher_error", data: message.data });
  } else if (
    message.event === "pusher_internal:subscription_succeeded" &&
    typeof message.channel === "string" &&
    message.channel.startsWith("#server-to-user-")
  ) {
    // pusher.user subscribes this channel itself; no channel object of ours sees it.
    emit({ type: "subscription_succeeded", channel: message.channel, data: message.data === undefined ? null : message.data });
  }
});
pusher.user.bind_global((event, data) => {
  if (event === "pusher:signin_error") emit({ type: "signin_error", data });
  else if (!event.startsWith("pusher:")) emit({ type: "user_event", event, data: data === undefined ? null : data });
});

function members(channel) {
  const m = channel.members;
  return { count: m.count, me: m.me, hash: m.members };
}

function subscribe(command) {
  const name = command.channel;
  const options = {};
  for (const key of ["user", "secret", "error"]) if (command[key] !== undefined) options[key] = command[key];
  auth.channelOptions.set(name, options);
  const channel = pusher.subscribe(name);
  const bound = new Set(command.bind || []);
  channel.unbind_all(); // a re-subscribe must not report everything twice
  channel.bind("pusher:subscription_succeeded", (data) => {
    if (name.startsWith("presence-")) emit({ type: "subscription_succeeded", channel: name, members: members(channel) });
    else emit({ type: "subscription_succeeded", channel: name, data: data === undefined ? null : data });
  });
  channel.bind("pusher:subscription_error", (data) => emit({ type: "subscription_error", channel: name, data }));
  channel.bind("pusher:subscription_count", (data) => emit({ type: "subscription_count", channel: name, data }));
  channel.bind("pusher:cache_miss", (data) => emit({ type: "cache_miss", channel: name, data: data === undefined ? null : data }));
  channel.bind("pusher:member_added", (m) => emit({ type: "member_added", channel: name, user_id: m.id, user_info: m.info }));
  channel.bind("pusher:member_removed", (m) => emit({ type: "member_removed", channel: name, user_id: m.id, user_info: m.info }));
  channel.bind_global((event, data) => {
    if (event.startsWith("pusher:") || event.startsWith("pusher_internal:") || bound.has(event)) return;
    emit({ type: "event", channel: name, event, data: data === undefined ? null : data });
  });
  for (const event of bound) {
    channel.bind(event, (data, metadata) => {
      const record = { type: "event", channel: name, event, data: data === undefined ? null : data };
      if (metadata && metadata.user_id !== undefined) record.user_id = metadata.user_id;
      emit(record);
    });
  }
}

function quit() {
  clearTimeout(lifetime);
  pusher.disconnect();
  setTimeout(() => process.exit(0), 200);
}

common.commandLoop(
  {
    subscribe,
    unsubscribe: (c) => pusher.unsubscribe(c.channel),
    trigger: (c) => {
      const channel = pusher.channel(c.channel);
      if (!channel) {
        emit({ type: "triggered", channel: c.channel, event: c.event, ok: false, message: "not subscribed" });
        return;
      }
      let ok;
      try {
        ok = channel.trigger(c.event, c.data === undefined ? {} : c.data);
      } catch (error) {
        emit({ type: "triggered", channel: c.channel, event: c.event, ok: false, message: common.errorText(error) });
        return;
      }
      emit({ type: "triggered", channel: c.channel, event: c.event, ok });
    },
    signin: () => pusher.signin(),
    send_event: (c) => emit({ type: "sent", ok: pusher.send_event(c.event, c.data, c.channel) }),
    send_raw: (c) => {
      if (!currentSocket) fatal("no socket yet");
      currentSocket.send(c.raw);
    },
    disconnect: () => pusher.disconnect(),
    connect: () => pusher.connect(),
    state: () => emit({ type: "state_now", state: pusher.connection.state, socket_id: pusher.connection.socket_id || null }),
    auth_response: (c) => auth.answer(c),
  },
  backend,
  quit,
);
