// Connect/join/disconnect churn with the OFFICIAL npm `phoenix` client, for the e2e tests.
//
//   node tests/e2e/js/churn_client.js '<json config>'
//
// Config (JSON, argv[2]):
//   url          "ws://127.0.0.1:8000/socket"
//   params       connect params, e.g. {"app_key": "..."}
//   tokens       a list of JWTs (sent as authToken); socket n uses tokens[n % tokens.length]
//   topics       topics every socket joins (presence ones track the JWT's user)
//   seconds      how long to churn (bounded by the caller)
//   concurrency  sockets in flight at once
//   holdMs       how long a socket stays after its joins were answered (default 0)
//
// Each socket connects, joins every topic, then disconnects (or is cut when the lifetime
// bound is reached). At the end one JSON line is printed:
//   {"type": "done", "opened": N, "joined": N, "refused": N, "closed": N}

"use strict";

const { Socket } = require("phoenix");
const WebSocket = require("ws");

const config = JSON.parse(process.argv[2] || "{}");
const deadline = Date.now() + config.seconds * 1000;
const stats = { opened: 0, joined: 0, refused: 0, closed: 0 };
let serial = 0;

function once(n) {
  return new Promise((resolve) => {
    const socket = new Socket(config.url, {
      transport: WebSocket,
      params: config.params || {},
      authToken: config.tokens[n % config.tokens.length],
      timeout: 5000,
      reconnectAfterMs: () => 10 * 60 * 1000,
    });
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(guard);
      socket.disconnect(() => {
        stats.closed += 1;
        resolve();
      });
      setTimeout(resolve, 1000); // disconnect's callback never runs for a socket never open
    };
    const guard = setTimeout(finish, 10000);
    socket.onOpen(() => {
      stats.opened += 1;
      let pending = config.topics.length;
      for (const topic of config.topics) {
        socket
          .channel(topic, {})
          .join()
          .receive("ok", () => {
            stats.joined += 1;
            pending -= 1;
            if (pending === 0) setTimeout(finish, config.holdMs || 0);
          })
          .receive("error", finish)
          .receive("timeout", finish);
      }
    });
    socket.onError(() => {
      if (stats.opened === 0 || !socket.isConnected()) stats.refused += 1;
      finish();
    });
    socket.connect();
  });
}

async function worker() {
  while (Date.now() < deadline) {
    serial += 1;
    await once(serial);
  }
}

Promise.all(Array.from({ length: config.concurrency }, worker)).then(() => {
  process.stdout.write(JSON.stringify({ type: "done", ...stats }) + "\n");
  process.exit(0);
});
