// The same bundle loaded as a plain <script>: no `module`, so it must set
// window.PusherLite and take host and ssl from the page's location.
"use strict"

const {test} = require("node:test")
const assert = require("node:assert/strict")
const fs = require("node:fs")
const vm = require("node:vm")
const {BUNDLE, FakeTransport} = require("./fake_transport.js")

function loadInPage(location){
  const listeners = []
  const page = {
    console, setTimeout, clearTimeout, btoa,
    location,
    addEventListener: (name) => listeners.push(name),
  }
  page.window = page
  page.self = page
  vm.createContext(page)
  vm.runInContext(fs.readFileSync(BUNDLE, "utf8"), page, {filename: "pusher.js"})
  return {page, listeners}
}

test("it sets window.PusherLite with the phoenix classes attached", () => {
  const {page} = loadInPage({host: "example.test", protocol: "http:"})
  assert.equal(typeof page.PusherLite, "function")
  assert.equal(typeof page.PusherLite.Socket, "function")
  assert.equal(typeof page.PusherLite.Presence, "function")
  assert.equal(typeof page.PusherLite.LongPoll, "function")
  assert.equal(page.__PusherLiteModule, undefined, "no helper global leaks")
})

test("it defaults to the page's host and scheme", t => {
  const {page, listeners} = loadInPage({host: "chat.example.test:8443", protocol: "https:"})
  const pusher = new page.PusherLite("app-key-1", {socketOptions: {transport: FakeTransport}})
  t.after(() => pusher.disconnect())
  pusher.connect()
  assert.match(FakeTransport.last().url, /^wss:\/\/chat\.example\.test:8443\/socket\/websocket\?app_key=app-key-1&/)
  // phoenix's page lifecycle handling is wired to the page's window.
  assert.ok(listeners.includes("pagehide"))
})
