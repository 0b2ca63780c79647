/**
 * Entry point of the /js/pusher.js bundle.
 *
 * The phoenix classes ride along as PusherLite.Socket, .Presence and .LongPoll, so a
 * page can use the raw phoenix API (or pick the long-poll transport) from the same file.
 * client/build.mjs wraps this in a UMD footer: module.exports when loaded through
 * require() or a bundler, window.PusherLite in a plain <script>, plus the AMD module
 * "pusher_lite" under an AMD loader and, in a page with no require of its own, a
 * window.require that resolves "pusher_lite".
 */
import {LongPoll, Presence, Socket} from "phoenix"
import PusherLite from "./pusher_lite.js"

PusherLite.Socket = Socket
PusherLite.Presence = Presence
PusherLite.LongPoll = LongPoll

export {PusherLite, Socket, Presence, LongPoll}
export default PusherLite
