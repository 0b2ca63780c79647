// What the Pusher-protocol e2e drivers share (pusher_client.js, pusher_server.js,
// echo_client.js): the JSON-lines protocol with the Python test, a customer backend built on
// the OFFICIAL npm `pusher` server library, and the pusher-js auth handlers that use it.
//
// Records go to stdout, one JSON object per line; commands arrive on stdin, one per line.
// Common commands:
//   {"cmd": "call", "id": "c1", "method": "trigger", "args": [...]}
//        calls the npm `pusher` library as a customer backend would; emits
//        {"type": "result", "id", "ok": true, "status", "body"} (body parsed when JSON)
//        or {"type": "result", "id", "ok": false, "status", "body", "message"}.
//        Methods: trigger, triggerBatch, get, post, terminateUserConnections, sendToUser,
//        authorizeChannel, authenticateUser, channelSharedSecret (base64), webhook
//        (args [{headers, rawBody}] -> {valid, data, events}).
//   {"cmd": "auth_response", "id": "a1", "auth": {...}} | {..., "error": "message"}
//        answers an {"type": "auth_request"} (config.auth = "ask").
//   {"cmd": "quit"}   exit 0 (so does the end of stdin)

"use strict";

const readline = require("node:readline");
const PusherServer = require("pusher");

function emit(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

function fatal(message) {
  emit({ type: "fatal", message });
  process.exit(1);
}

// argv[2] (JSON) or the environment variable `envName`; the app secret may come from
// PUSHER_APP_SECRET instead of the config, so that it never shows in a process list.
function readConfig(envName) {
  const config = JSON.parse(process.argv[2] || process.env[envName] || "{}");
  if (!config.secret && process.env.PUSHER_APP_SECRET) config.secret = process.env.PUSHER_APP_SECRET;
  return config;
}

function startLifetime(config) {
  const ms = config.lifetimeMs || 60000;
  return setTimeout(() => fatal(`lifetime of ${ms} ms exceeded`), ms);
}

// The customer backend: the official server library with the app's credentials.
function makeBackend(config, secret) {
  if (!config.appId || !config.key || !(secret || config.secret)) return null;
  const options = {
    appId: String(config.appId),
    key: config.key,
    secret: secret || config.secret,
    host: config.httpHost || config.wsHost || "127.0.0.1",
    port: String(config.httpPort || config.wsPort),
    useTLS: false,
    timeout: 10000,
  };
  if (config.encryptionMasterKeyBase64) options.encryptionMasterKeyBase64 = config.encryptionMasterKeyBase64;
  return new PusherServer(options);
}

function errorText(error) {
  if (error === undefined || error === null) return null;
  if (typeof error === "string") return error;
  if (error.message) return String(error.message);
  if (error.type) return String(error.type); // a WebSocket error event
  return String(error);
}

async function readBody(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    return text;
  }
}

// Runs one {"cmd": "call"} against the backend and emits its result.
async function call(backend, command) {
  const { id, method } = command;
  const args = command.args || [];
  try {
    if (!backend) throw new Error("no backend: config needs appId, key and secret");
    if (method === "webhook") {
      const webhook = backend.webhook(args[0]);
      const valid = webhook.isValid();
      emit({ type: "result", id, ok: true, body: valid ? { valid, data: webhook.getData(), events: webhook.getEvents() } : { valid } });
      return;
    }
    if (method === "channelSharedSecret") {
      emit({ type: "result", id, ok: true, body: Buffer.from(backend.channelSharedSecret(...args)).toString("base64") });
      return;
    }
    if (typeof backend[method] !== "function") throw new Error(`unknown method ${method}`);
    const value = await backend[method](...args);
    if (value && typeof value.text === "function" && "status" in value) {
      emit({ type: "result", id, ok: true, status: value.status, body: await readBody(value) });
    } else {
      emit({ type: "result", id, ok: true, body: value === undefined ? null : value });
    }
  } catch (error) {
    // The library rejects non-2xx answers with a RequestError carrying status and body.
    let body = error && error.body;
    if (typeof body === "string") {
      try {
        body = JSON.parse(body);
      } catch (e) {
        /* keep the text */
      }
    }
    emit({ type: "result", id, ok: false, status: (error && error.status) || null, body: body === undefined ? null : body, message: errorText(error) });
  }
}

// pusher-js customHandler functions for channel authorization and user authentication.
//   config.auth = "local" (default): signed here with the npm library, like a customer backend
//   config.auth = "ask": emitted as {"type": "auth_request", "id", "kind", "socket_id",
//                 "channel"} and answered by the test with {"cmd": "auth_response", ...}
//   config.user = {"id": "u1", "info": {...}}: presence channel_data
//                 ({"user_id": id, "user_info": info}) and signin user data ({"id", "user_info"})
// Per channel (see channelOptions): {"user": {...}} overrides the presence data, {"secret": "x"}
// signs with another secret (a forged signature), {"error": "m"} makes authorization fail.
function authHandlers(config, backend) {
  const pending = new Map();
  const channelOptions = new Map();
  let nextId = 0;

  function ask(kind, params, callback) {
    const id = `a${++nextId}`;
    pending.set(id, callback);
    emit({ type: "auth_request", id, kind, socket_id: params.socketId, channel: params.channelName || null });
  }

  function presenceData(channel) {
    const options = channelOptions.get(channel) || {};
    if (options.user) return options.user;
    const user = config.user || {};
    const data = { user_id: String(user.id) };
    if (user.info !== undefined) data.user_info = user.info;
    return data;
  }

  function channel(params, callback) {
    if (config.auth === "ask") return ask("channel", params, callback);
    const options = channelOptions.get(params.channelName) || {};
    if (options.error) return callback(new Error(options.error), null);
    try {
      const signer = options.secret ? makeBackend(config, options.secret) : backend;
      const presence = params.channelName.startsWith("presence-") ? presenceData(params.channelName) : undefined;
      callback(null, signer.authorizeChannel(params.socketId, params.channelName, presence));
    } catch (error) {
      callback(error, null);
    }
  }

  function user(params, callback) {
    if (config.auth === "ask") return ask("user", params, callback);
    try {
      const who = config.user || {};
      const data = Object.assign({ id: String(who.id) }, who.info !== undefined ? { user_info: who.info } : {}, config.userData || {});
      const signer = config.signinSecret ? makeBackend(config, config.signinSecret) : backend;
      callback(null, signer.authenticateUser(params.socketId, data));
    } catch (error) {
      callback(error, null);
    }
  }

  function answer(command) {
    const callback = pending.get(command.id);
    if (!callback) fatal(`no auth request ${command.id}`);
    pending.delete(command.id);
    if (command.error) callback(new Error(command.error), null);
    else callback(null, command.auth);
  }

  return { channel, user, answer, channelOptions };
}

// Reads commands from stdin; `handlers` maps cmd names to functions; "call", "quit" built in.
function commandLoop(handlers, backend, quit) {
  const all = Object.assign({ call: (c) => call(backend, c), quit }, handlers);
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
      const handler = all[command.cmd];
      if (!handler) fatal(`unknown command ${command.cmd}`);
      try {
        handler(command);
      } catch (error) {
        emit({ type: "command_error", cmd: command.cmd, message: errorText(error) });
      }
    })
    .on("close", quit);
  process.on("uncaughtException", (e) => fatal(e.stack || String(e)));
  process.on("unhandledRejection", (e) => fatal((e && e.stack) || String(e)));
}

// Observes the raw WebSocket pusher-js creates (close codes, optionally every frame) without
// changing what pusher-js does with it.
function observeSockets(Pusher, config, onSocket) {
  const runtime = Pusher.Runtime;
  const create = runtime.createWebSocket.bind(runtime);
  runtime.createWebSocket = (url) => {
    const socket = create(url);
    emit({ type: "socket", url });
    socket.addEventListener("close", (event) => emit({ type: "close", code: event.code, reason: event.reason || "" }));
    if (config.frames) {
      socket.addEventListener("message", (event) => emit({ type: "frame_in", raw: String(event.data) }));
      const send = socket.send.bind(socket);
      socket.send = (data) => {
        emit({ type: "frame_out", raw: String(data) });
        return send(data);
      };
    }
    if (onSocket) onSocket(socket);
    return socket;
  };
}

// Options every pusher-js instance of these tests gets (what a self-hoster passes).
function pusherOptions(config, auth) {
  return Object.assign(
    {
      cluster: "mt1", // mandatory since pusher-js 8; ignored once wsHost is set
      wsHost: config.wsHost || "127.0.0.1",
      wsPort: config.wsPort,
      wssPort: config.wsPort,
      forceTLS: false,
      enabledTransports: ["ws"],
      disableStats: true,
      channelAuthorization: { customHandler: auth.channel },
      userAuthentication: { customHandler: auth.user },
    },
    config.options || {},
  );
}

function serializeError(error) {
  if (!error) return null;
  const out = { type: error.type || null };
  if (error.data !== undefined) out.data = error.data;
  if (error.error !== undefined) out.error = errorText(error.error);
  if (error.status !== undefined) out.status = error.status;
  if (error instanceof Error) out.error = error.message;
  return out;
}

module.exports = {
  emit,
  fatal,
  readConfig,
  startLifetime,
  makeBackend,
  call,
  authHandlers,
  commandLoop,
  observeSockets,
  pusherOptions,
  serializeError,
  errorText,
};
