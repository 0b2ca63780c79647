// Builds static/expusher/pusher.js (served as /js/pusher.js) from client/src.
//
//   npm run build   writes the bundle
//   npm run check   builds to a temporary file and fails if the committed bundle differs
//
// The output is one self-contained UMD-style file: phoenix is bundled in, nothing is
// fetched from a CDN, and the server can serve it without npm installed.
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
// The IIFE's result is module.exports for require() and bundlers, else a browser global.
const footer = `if (typeof module === "object" && module && module.exports) {
  module.exports = __PusherLiteModule;
} else {
  root.PusherLite = __PusherLiteModule.default;
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
