// Builds static/expusher/pusher.js (served as /js/pusher.js) from client/src.
//
//   npm run build   writes the bundle
//   npm run check   builds to a temporary file and fails if the committed bundle differs
//
// The output is one self-contained UMD-style file (see the footer): phoenix is bundled in,
// nothing is fetched from a CDN, and the server can serve it without npm installed.
import {build} from "esbuild"
import {mkdtempSync, readFileSync, rmSync} from "node:fs"
import {tmpdir} from "node:os"
import {dirname, join, resolve} from "node:path"
import {fileURLToPath} from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const target = join(root, "static/expusher/pusher.js")
const phoenixVersion = JSON.parse(
  readFileSync(join(root, "node_modules/phoenix/package.json"), "utf8")).version

const banner = `/*! PusherLite for ExPusher. Bundles phoenix ${phoenixVersion} ` +
  `(MIT, Copyright (c) 2014 Chris McCord). Built by client/build.mjs; do not edit. */
(function (root) {`
// The IIFE's result is module.exports under CommonJS (require() and bundlers). Otherwise it
// is window.PusherLite, also registered as the AMD module "pusher_lite" when an AMD loader
// is present. A plain page without any loader also gets a minimal window.require that
// resolves "pusher_lite", for ExPusherLite's integration snippet
// `var PusherLite = require("pusher_lite").default;`. A require the page already has
// (another loader's) is never replaced, except one that an earlier copy of this file set.
const footer = `if (typeof module === "object" && module && module.exports) {
  module.exports = __PusherLiteModule;
} else {
  root.PusherLite = __PusherLiteModule.default;
  if (typeof define === "function" && define.amd) {
    define("pusher_lite", [], function () { return __PusherLiteModule; });
  }
  if (typeof require === "undefined" || (require && require.pusherLite === true)) {
    var pusherLiteRequire = function (name) {
      if (name === "pusher_lite") { return __PusherLiteModule; }
      var error = new Error('Cannot find module "' + name + '": ' +
        '/js/pusher.js only provides require("pusher_lite")');
      error.code = "MODULE_NOT_FOUND";
      throw error;
    };
    pusherLiteRequire.pusherLite = true;
    root.require = pusherLiteRequire;
  }
}
})(typeof globalThis !== "undefined" ? globalThis : this);`

async function bundle(outfile){
  await build({
    entryPoints: [join(root, "client/src/index.js")],
    outfile,
    bundle: true,
    format: "iife",
    globalName: "__PusherLiteModule",
    platform: "browser",
    target: ["es2018"],
    minify: true,
    legalComments: "none",
    banner: {js: banner},
    footer: {js: footer},
    logLevel: "warning",
  })
}

if(process.argv.includes("--check")){
  const dir = mkdtempSync(join(tmpdir(), "pusherlite-"))
  try {
    const fresh = join(dir, "pusher.js")
    await bundle(fresh)
    let committed = null
    try { committed = readFileSync(target) } catch { /* missing counts as stale */ }
    if(!committed || !committed.equals(readFileSync(fresh))){
      console.error("static/expusher/pusher.js is out of date: run `npm run build` and commit it")
      process.exit(1)
    }
    console.log("static/expusher/pusher.js is up to date")
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
} else {
  await bundle(target)
  console.log(`wrote ${target}`)
}
