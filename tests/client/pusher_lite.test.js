// The built /js/pusher.js, loaded the way a CommonJS or bundler user loads it
// (require(...).default), driven without a server through a fake transport.
"use strict"

const {test, beforeEach} = require("node:test")
const assert = require("node:assert/strict")
const {BUNDLE, FakeTransport} = require("./fake_transport.js")

const PusherLite = require(BUNDLE).default

const JWT = "header.payload.signature"

function connectedPusher(t, opts = {}){
  const pusher = new PusherLite("app-key-1", {
    host: "127.0.0.1:8000",
    jwt: JWT,
    uniqueUserId: "user-1",
    ...opts,
    socketOptions: {transport: FakeTransport, ...opts.socketOptions},
  })
  t.after(() => pusher.disconnect())
  return pusher
}

async function joined(pusher, ...topics){
  const channels = topics.map(topic => pusher.subscribe(topic))
  const done = pusher.joinAll()
  const transport = FakeTransport.last()
  transport.open()
  topics.forEach(topic => transport.reply(topic, "phx_join"))
  await done
  return {channels, transport}
}

beforeEach(() => FakeTransport.reset())

test("it exports the class and phoenix's own classes", () => {
  const bundle = require(BUNDLE)
  assert.equal(bundle.PusherLite, PusherLite)
  assert.equal(typeof bundle.Socket, "function")
  assert.equal(typeof bundle.Presence, "function")
  assert.equal(PusherLite.Socket, bundle.Socket)
  assert.equal(PusherLite.Presence, bundle.Presence)
  assert.equal(PusherLite.LongPoll, bundle.LongPoll)
  assert.equal(globalThis.PusherLite, undefined, "require() must not leak a global")
})

test("it connects to /socket/websocket with app_key and unique_identifier only", t => {
  const pusher = connectedPusher(t)
  pusher.connect()
  const url = new URL(FakeTransport.last().url)
  assert.equal(url.origin, "ws://127.0.0.1:8000")
  assert.equal(url.pathname, "/socket/websocket")
  assert.deepEqual(Object.fromEntries(url.searchParams), {
    app_key: "app-key-1",
    unique_identifier: "user-1",
    vsn: "2.0.0",
  })
  assert.ok(!FakeTransport.last().url.includes(JWT), "the JWT must stay out of the URL")
})

test("it sends the JWT as phoenix's authToken subprotocol", t => {
  connectedPusher(t).connect()
  const [phoenix, bearer] = FakeTransport.last().protocols
  assert.equal(phoenix, "phoenix")
  const encoded = Buffer.from(JWT).toString("base64").replace(/=/g, "")
  assert.equal(bearer, `base64url.bearer.phx.${encoded}`)
})

test("it accepts a function returning a fresh JWT", t => {
  let calls = 0
  connectedPusher(t, {jwt: () => `${JWT}${++calls}`}).connect()
  const bearer = FakeTransport.last().protocols[1]
  assert.equal(bearer, `base64url.bearer.phx.${Buffer.from(`${JWT}1`).toString("base64").replace(/=/g, "")}`)
})

test("it offers no subprotocol without a JWT", t => {
  connectedPusher(t, {jwt: undefined}).connect()
  assert.equal(FakeTransport.last().protocols, undefined)
})

test("it uses wss:// with ssl", t => {
  connectedPusher(t, {ssl: true}).connect()
  assert.match(FakeTransport.last().url, /^wss:\/\/127\.0\.0\.1:8000\/socket\/websocket\?/)
})

test("it generates a unique identifier when none is given", t => {
  const a = connectedPusher(t, {uniqueUserId: undefined})
  const b = connectedPusher(t, {uniqueUserId: undefined})
  assert.ok(a.uniqueUserId)
  assert.notEqual(a.uniqueUserId, b.uniqueUserId)
})

test("it needs a host outside a browser page, and an app key", () => {
  assert.throws(() => new PusherLite("app-key-1", {}), /host/)
  assert.throws(() => new PusherLite("", {host: "127.0.0.1:8000"}), /application key/)
})

test("subscribe returns the same channel for the same topic", t => {
  const pusher = connectedPusher(t)
  const general = pusher.subscribe("general")
  assert.equal(pusher.subscribe("general"), general)
  assert.notEqual(pusher.subscribe("public:lobby"), general)
  assert.equal(general.topic, "general")
})

test("joinAll joins every subscribed topic and resolves once all are joined", async t => {
  const pusher = connectedPusher(t)
  pusher.subscribe("general")
  pusher.subscribe("public:lobby")
  let settled = false
  const done = pusher.joinAll().then(() => { settled = true })
  const transport = FakeTransport.last()
  transport.open()
  const joins = transport.sentFrames("phx_join")
  assert.deepEqual(joins.map(f => f[2]), ["general", "public:lobby"])
  for(const [joinRef, ref] of joins){ assert.equal(joinRef, ref) }

  transport.reply("general", "phx_join")
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(settled, false, "one topic is still joining")
  transport.reply("public:lobby", "phx_join")
  await done
  assert.ok(pusher.subscribe("general").isJoined())
  assert.ok(pusher.isConnected())
})

test("joinAll does not join a joined topic again", async t => {
  const pusher = connectedPusher(t)
  const {transport} = await joined(pusher, "general")
  pusher.subscribe("public:lobby")
  const done = pusher.joinAll()
  assert.deepEqual(transport.sentFrames("phx_join").map(f => f[2]), ["general", "public:lobby"])
  transport.reply("public:lobby", "phx_join")
  await done
})

test("joinAll rejects with the topic and reason of a refused join, and does not retry", async t => {
  const pusher = connectedPusher(t)
  pusher.subscribe("general")
  pusher.subscribe("private:secret")
  const done = pusher.joinAll()
  const transport = FakeTransport.last()
  transport.open()
  transport.reply("general", "phx_join")
  transport.reply("private:secret", "phx_join", "error", {reason: "unauthorized"})
  await assert.rejects(done, error => {
    assert.equal(error.topic, "private:secret")
    assert.equal(error.reason, "unauthorized")
    return true
  })
  assert.equal(pusher.subscribe("private:secret").isJoined(), false)
  assert.equal(pusher.socket.channels.some(c => c.topic === "private:secret"), false,
    "a refused channel is dropped, not rejoined by phoenix's back-off")

  // A later joinAll tries again with a fresh join.
  const again = pusher.joinAll()
  assert.equal(transport.sentFrames("phx_join", "private:secret").length, 2)
  transport.reply("private:secret", "phx_join")
  await again
  assert.ok(pusher.subscribe("private:secret").isJoined())
})

test("bound handlers receive the payload of events on their topic only", async t => {
  const pusher = connectedPusher(t)
  const {channels: [general, lobby], transport} = await joined(pusher, "general", "public:lobby")
  const seen = []
  general.bind("new_message", payload => seen.push(["general", payload]))
  general.bind("other", payload => seen.push(["other", payload]))
  lobby.bind("new_message", payload => seen.push(["lobby", payload]))

  transport.broadcast("general", "new_message", {name: "Ann", message: "hi"})
  transport.broadcast("public:lobby", "new_message", {n: 2})
  transport.broadcast("elsewhere", "new_message", {n: 3})
  assert.deepEqual(seen, [["general", {name: "Ann", message: "hi"}], ["lobby", {n: 2}]])
})

test("unbind removes one handler, or every handler of the event", async t => {
  const pusher = connectedPusher(t)
  const {channels: [general], transport} = await joined(pusher, "general")
  const seen = []
  const first = payload => seen.push(["first", payload.n])
  general.bind("tick", first)
  general.bind("tick", payload => seen.push(["second", payload.n]))

  transport.broadcast("general", "tick", {n: 1})
  general.unbind("tick", first)
  transport.broadcast("general", "tick", {n: 2})
  general.unbind("tick")
  transport.broadcast("general", "tick", {n: 3})
  assert.deepEqual(seen, [["first", 1], ["second", 1], ["second", 2]])
})

test("handlers bound before joining receive events after the join", async t => {
  const pusher = connectedPusher(t)
  const seen = []
  pusher.subscribe("general").bind("new_message", payload => seen.push(payload))
  const {transport} = await joined(pusher, "general")
  transport.broadcast("general", "new_message", {n: 1})
  assert.deepEqual(seen, [{n: 1}])
})

test("trigger pushes the event and resolves with the ok reply", async t => {
  const pusher = connectedPusher(t)
  const {channels: [general], transport} = await joined(pusher, "general")
  const result = general.trigger("new_message", {name: "Ann", message: "hi"})
  const [joinRef, ref, topic, event, payload] = transport.sentFrames("new_message").at(-1)
  assert.equal(joinRef, transport.sentFrames("phx_join")[0][1])
  assert.ok(ref)
  assert.deepEqual([topic, event, payload], ["general", "new_message", {name: "Ann", message: "hi"}])
  transport.reply("general", "new_message", "ok", {delivered: true})
  assert.deepEqual(await result, {delivered: true})
})

test("trigger rejects with the error response, and calls the callbacks", async t => {
  const pusher = connectedPusher(t)
  const {channels: [general], transport} = await joined(pusher, "general")
  await assert.rejects(
    (async () => {
      const pushed = general.trigger("new_message", {message: "nope"})
      transport.reply("general", "new_message", "error", {reason: "unauthorized"})
      await pushed
    })(),
    {reason: "unauthorized"},
  )

  const calls = []
  const failed = general.trigger("x", {}, {
    success: response => calls.push(["success", response]),
    error: response => calls.push(["error", response]),
  })
  transport.reply("general", "x", "error", {reason: "unauthorized"})
  await failed.catch(() => {})
  const succeeded = general.trigger("y", {}, {success: response => calls.push(["success", response])})
  transport.reply("general", "y", "ok", {})
  await succeeded
  assert.deepEqual(calls, [["error", {reason: "unauthorized"}], ["success", {}]])
})

test("trigger on a channel not joined yet joins first and sends after the join", async t => {
  const pusher = connectedPusher(t)
  const general = pusher.subscribe("general")
  pusher.connect()
  const transport = FakeTransport.last()
  transport.open()
  const pushed = general.trigger("new_message", {n: 1})
  assert.equal(transport.sentFrames("new_message").length, 0, "buffered until joined")
  transport.reply("general", "phx_join")
  assert.equal(transport.sentFrames("new_message").length, 1)
  transport.reply("general", "new_message")
  await pushed
})

test("unsubscribe leaves the topic and a new subscribe starts afresh", async t => {
  const pusher = connectedPusher(t)
  const {channels: [general], transport} = await joined(pusher, "general")
  general.bind("new_message", () => { throw new Error("unsubscribed handler called") })
  pusher.unsubscribe("general")
  assert.equal(transport.sentFrames("phx_leave", "general").length, 1)
  transport.reply("general", "phx_leave")
  transport.broadcast("general", "new_message", {n: 1})

  const fresh = pusher.subscribe("general")
  assert.notEqual(fresh, general)
  const done = pusher.joinAll()
  transport.reply("general", "phx_join")
  await done
  const seen = []
  fresh.bind("new_message", payload => seen.push(payload))
  transport.broadcast("general", "new_message", {n: 2})
  assert.deepEqual(seen, [{n: 2}])
})

test("presence topics report joins, leaves, syncs and members", async t => {
  const pusher = connectedPusher(t)
  const room = pusher.subscribe("presence:room-1")
  const events = []
  room.onJoin((id, current, joinedPresence) => events.push(["join", id, joinedPresence.metas.length]))
  room.onLeave((id, current, left) => events.push(["leave", id, left.metas.length]))
  room.onSync(() => events.push(["sync", room.members().map(m => m.id).sort()]))
  const {transport} = await joined(pusher, "presence:room-1")
  const joinRef = transport.sentFrames("phx_join")[0][1]

  transport.inject([joinRef, null, "presence:room-1", "presence_state", {
    "user-1": {metas: [{phx_ref: "a1", name: "Ann"}]},
    "user-2": {metas: [{phx_ref: "b1"}]},
  }])
  transport.inject([null, null, "presence:room-1", "presence_diff", {
    joins: {"user-3": {metas: [{phx_ref: "c1"}]}},
    leaves: {"user-2": {metas: [{phx_ref: "b1"}]}},
  }])

  assert.deepEqual(events, [
    ["join", "user-1", 1],
    ["join", "user-2", 1],
    ["sync", ["user-1", "user-2"]],
    ["join", "user-3", 1],
    ["leave", "user-2", 1],
    ["sync", ["user-1", "user-3"]],
  ])
  assert.deepEqual(room.members().find(m => m.id === "user-1"), {
    id: "user-1",
    metas: [{phx_ref: "a1", name: "Ann"}],
  })
})

test("Pusher-style presence- topics get presence too; others refuse presence calls", t => {
  const pusher = connectedPusher(t)
  assert.deepEqual(pusher.subscribe("presence-room").members(), [])
  assert.throws(() => pusher.subscribe("general").members(), /not a presence topic/)
  assert.throws(() => pusher.subscribe("general").onJoin(() => {}), /not a presence topic/)
})

test("onConnect and onError are called on socket open and transport error", t => {
  const calls = []
  const pusher = connectedPusher(t, {
    onConnect: p => calls.push(["connect", p === pusher]),
    onError: error => calls.push(["error", error.type]),
  })
  pusher.connect()
  const transport = FakeTransport.last()
  transport.open()
  transport.onerror({type: "error"})
  assert.deepEqual(calls, [["connect", true], ["error", "error"]])
})

test("channels rejoin after the socket reconnects", async t => {
  const pusher = connectedPusher(t, {socketOptions: {reconnectAfterMs: () => 0}})
  const {channels: [general], transport} = await joined(pusher, "general")
  pusher.disconnect()
  assert.equal(general.isJoined(), false)

  const done = pusher.joinAll()
  const second = FakeTransport.last()
  assert.notEqual(second, transport)
  second.open()
  second.reply("general", "phx_join")
  await done
  assert.ok(general.isJoined())
})
