// A customer backend built on the OFFICIAL npm `pusher` server library, for the e2e tests:
// it only calls the HTTP API and signs auth, it opens no socket.
//
//   node tests/e2e/js/pusher_server.js '<json config>'
//
// Config (JSON, argv[2] or PUSHER_SERVER_CONFIG; the secret may come from PUSHER_APP_SECRET):
//   appId, key, secret, httpHost ("127.0.0.1"), httpPort, encryptionMasterKeyBase64
//   lifetimeMs   hard bound on the whole run (default 60000)
//
// Commands: {"cmd": "call", "id", "method", "args"} and {"cmd": "quit"}; see pusher_common.js.
// It emits {"type": "ready"} first.

"use strict";

const common = require("./pusher_common");

const config = common.readConfig("PUSHER_SERVER_CONFIG");
if (!config.httpPort && !config.wsPort) common.fatal("config.httpPort is required");
const lifetime = common.startLifetime(config);
const backend = common.makeBackend(config);
if (!backend) common.fatal("config needs appId, key and secret");

function quit() {
  clearTimeout(lifetime);
  setTimeout(() => process.exit(0), 50);
}

common.commandLoop({}, backend, quit);
common.emit({ type: "ready" });
