// How the built bundle registers itself, each case in a fresh vm context:
//
// - a plain page with no module loader gets window.PusherLite and a window.require that
//   resolves "pusher_lite", as ExPusherLite's integration expects
//   (`var PusherLite = require("pusher_lite").default;`);
// - a page that already has a require keeps it;
// - under AMD it is defined as the module "pusher_lite" (and window.PusherLite stays);
// - under CommonJS it is module.exports, with no globals.
"use strict"

const {test} = require("node:test")
const assert = require("node:assert/strict")
const fs = require("node:fs")
const vm = require("node:vm")
const {BUNDLE, FakeTransport} = require("./fake_transport.js")

const SOURCE = fs.readFileSync(BUNDLE, "utf8")

/** A fresh global with only what a page offers (plus `extra`), the bundle evaluated in it. */
function load(extra = {}){
  const page = {
    console, setTimeout, clearTimeout, btoa,
    location: {host: "example.test", protocol: "http:"},
    addEventListener(){},
    ...extra,
  }
  page.window = page
  page.self = page
  vm.createContext(page)
  vm.runInContext(SOURCE, page, {filename: "pusher.js"})
  return page
}

test("a plain page gets a require that resolves pusher_lite to the module", () => {
  const page = load()
  assert.equal(vm.runInContext("typeof module + typeof define", page), "undefinedundefined")
  assert.equal(typeof page.require, "function")
  const mod = page.require("pusher_lite")
  assert.equal(mod.default, page.PusherLite)
  assert.equal(mod.PusherLite, page.PusherLite)
  assert.equal(mod.Socket, page.PusherLite.Socket)
  assert.equal(page.require("pusher_lite"), mod, "the same module object each time")
})

test("ExPusherLite's integration snippet runs unchanged and the client connects", t => {
  const page = load({FakeTransport})
  vm.runInContext('var PusherLite = require("pusher_lite").default;', page)
  const pusher = vm.runInContext(
    'new PusherLite("app-key-1", {jwt: "a.b.c", socketOptions: {transport: FakeTransport}})',
    page)
  t.after(() => pusher.disconnect())
  assert.equal(page.PusherLite, page.require("pusher_lite").default)
  pusher.connect()
  assert.match(FakeTransport.last().url, /^ws:\/\/example\.test\/socket\/websocket\?app_key=app-key-1&/)
})

test("requiring any other name throws an Error naming that module", () => {
  const page = load()
  for(const name of ["phoenix", "pusher-lite", "./pusher_lite", ""]){
    assert.throws(() => page.require(name), error => {
      // The error comes from the page's realm, so check its shape, not `instanceof`.
      assert.equal(error.name, "Error")
      assert.equal(error.code, "MODULE_NOT_FOUND")
      assert.ok(error.message.includes(`"${name}"`), error.message)
      assert.ok(error.message.includes("pusher_lite"), error.message)
      return true
    })
  }
})

test("a require the page already has is kept", () => {
  const own = function ownRequire(){ return "own" }
  const page = load({require: own})
  assert.equal(page.require, own)
  assert.equal(typeof page.PusherLite, "function", "window.PusherLite is still set")
})

test("a require that is not a function (a RequireJS config object) is kept too", () => {
  const config = {baseUrl: "/js"}
  const page = load({require: config})
  assert.equal(page.require, config)
  assert.equal(typeof page.PusherLite, "function")
})

test("a require declared with let by an earlier script is kept", () => {
  const page = {console, setTimeout, clearTimeout, btoa, addEventListener(){}}
  page.window = page
  page.self = page
  vm.createContext(page)
  vm.runInContext('let require = function ownRequire(){ return "own" };', page)
  vm.runInContext(SOURCE, page, {filename: "pusher.js"})
  assert.equal(vm.runInContext('require("anything")', page), "own")
  assert.equal(page.require, undefined, "no shadowed window.require was added")
  assert.equal(typeof page.PusherLite, "function")
})

test("loading the file twice leaves the newer module behind the shim", () => {
  const page = load()
  const first = page.require("pusher_lite")
  vm.runInContext(SOURCE, page, {filename: "pusher.js"})
  const second = page.require("pusher_lite")
  assert.notEqual(second, first)
  assert.equal(second.default, page.PusherLite)
})

test("under AMD it defines the module pusher_lite and leaves the loader's require alone", () => {
  const defined = []
  const define = (...args) => defined.push(args)
  define.amd = {}
  const loaderRequire = function amdRequire(){}
  const page = load({define, require: loaderRequire})
  assert.equal(defined.length, 1)
  const [name, deps, factory] = defined[0]
  assert.equal(name, "pusher_lite")
  assert.deepEqual(Array.from(deps), [], "no dependencies")
  const mod = factory()
  assert.equal(mod.default, page.PusherLite)
  assert.equal(typeof mod.default.Presence, "function")
  assert.equal(page.require, loaderRequire)
})

test("a define without define.amd is not treated as AMD", () => {
  let called = false
  const page = load({define: () => { called = true }})
  assert.equal(called, false)
  assert.equal(page.require("pusher_lite").default, page.PusherLite)
})

test("under CommonJS it sets module.exports and no globals", () => {
  const module = {exports: {}}
  const defined = []
  const define = (...args) => defined.push(args)
  define.amd = {}
  const page = load({module, exports: module.exports, define})
  assert.equal(typeof module.exports.default, "function")
  assert.equal(typeof module.exports.PusherLite.Socket, "function")
  assert.equal(page.PusherLite, undefined)
  assert.equal(page.require, undefined)
  assert.equal(defined.length, 0, "CommonJS wins over AMD, as before")
})

test("Node's own require still loads it as CommonJS", () => {
  const mod = require(BUNDLE)
  assert.equal(typeof mod.default, "function")
  assert.equal(mod.default, mod.PusherLite)
  assert.equal(globalThis.PusherLite, undefined)
})
