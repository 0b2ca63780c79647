/**
 * A PusherLite channel: one topic of one application, wrapping a phoenix Channel.
 *
 * The wrapper outlives the phoenix Channel it holds. A phoenix Channel can be joined
 * only once and is dropped by its socket when it closes (leave, server close, join
 * refused), so the wrapper keeps the user's bindings and presence callbacks and moves
 * them onto a fresh phoenix Channel whenever it has to join again.
 */
import {Presence} from "phoenix"

const PRESENCE_PREFIXES = ["presence:", "presence-"]

export function isPresenceTopic(topic){
  return PRESENCE_PREFIXES.some(prefix => topic.startsWith(prefix))
}

export default class Channel {
  constructor(topic, socket){
    this.topic = topic
    this.socket = socket
    this.bindings = [] // {event, callback, ref}: ref is the phoenix binding ref
    this.waiters = [] // {resolve, reject} of joins in progress
    this.presenceCallbacks = {onJoin: () => {}, onLeave: () => {}, onSync: () => {}}
    this.presence = null
    this.phx = null
    this.open()
  }

  /** Calls `callback(payload)` for every `event` received on this topic. */
  bind(event, callback){
    this.bindings.push({event, callback, ref: this.phx.on(event, callback)})
    return this
  }

  /** Removes `callback` for `event`, or every callback bound to `event` without one. */
  unbind(event, callback){
    this.bindings = this.bindings.filter(binding => {
      const drop = binding.event === event && (!callback || binding.callback === callback)
      if(drop){ this.phx.off(event, binding.ref) }
      return !drop
    })
    return this
  }

  /**
   * Pushes `event` with `payload` to every subscriber of the topic (this page included).
   *
   * Resolves with the server's reply on "ok"; rejects with the error response (for
   * example `{reason: "unauthorized"}`) or with `{reason: "timeout"}`. The optional
   * `{success, error}` callbacks receive the same values.
   */
  trigger(event, payload = {}, {success, error} = {}){
    // Pushes wait for the join; its failure is reported through the push itself (as
    // a timeout), so the join's own rejection is deliberately left unobserved here.
    if(!this.phx.joinedOnce || this.phx.isClosed()){ this.join().catch(() => {}) }
    const result = new Promise((resolve, reject) => {
      this.phx.push(event, payload)
        .receive("ok", resolve)
        .receive("error", reject)
        .receive("timeout", () => reject({reason: "timeout"}))
    })
    // The callbacks' own chains must not report a failure as an unhandled rejection:
    // the returned promise carries it. With an error callback, the caller handles
    // failures, so the returned promise is marked as handled as well.
    if(success){ result.then(success, () => {}) }
    if(error){ result.catch(error) }
    return result
  }

  /** Whether the topic's join has been acknowledged by the server. */
  isJoined(){ return this.phx.isJoined() }

  /**
   * Joins unless joined already; resolves once joined, rejects with {topic, reason}.
   *
   * A channel that is joining or errored is not joined again: phoenix rejoins those by
   * itself (on reconnect or after a back-off), and a second join would make it leave
   * its own topic as a duplicate.
   */
  join(){
    if(this.phx.isJoined()){ return Promise.resolve(this) }
    const joined = new Promise((resolve, reject) => this.waiters.push({resolve, reject}))
    if(this.phx.isClosed() && this.phx.joinedOnce){ this.open() }
    if(!this.phx.joinedOnce){ this.phx.join() }
    return joined
  }

  /** Leaves the topic; the channel can be joined again later. */
  leave(){
    this.settle("reject", {topic: this.topic, reason: "left"})
    if(!this.phx.isClosed()){ this.phx.leave() }
  }

  onJoin(callback){ this.presenceCallback("onJoin", callback) }

  onLeave(callback){ this.presenceCallback("onLeave", callback) }

  onSync(callback){ this.presenceCallback("onSync", callback) }

  /** Who is here: a list of {id, metas}, one entry per user, metas one per connection. */
  members(){
    this.requirePresence()
    return this.presence.list((id, {metas}) => ({id, metas}))
  }

  /** @private Creates the phoenix Channel and moves bindings and presence onto it. */
  open(){
    this.phx = this.socket.channel(this.topic)
    this.bindings.forEach(binding => { binding.ref = this.phx.on(binding.event, binding.callback) })
    if(isPresenceTopic(this.topic)){
      this.presence = new Presence(this.phx)
      this.presence.onJoin((...args) => this.presenceCallbacks.onJoin(...args))
      this.presence.onLeave((...args) => this.presenceCallbacks.onLeave(...args))
      this.presence.onSync(() => this.presenceCallbacks.onSync())
    }
    this.phx.joinPush
      .receive("ok", () => this.settle("resolve", this))
      .receive("timeout", () => this.settle("reject", {topic: this.topic, reason: "timeout"}))
      .receive("error", response => this.refused(response))
  }

  /** @private */
  refused(response){
    const reason = (response && response.reason) || "join refused"
    this.settle("reject", {topic: this.topic, reason, response})
    // Phoenix would retry a refused join forever (1, 2, 5, then every 10 s); a refusal
    // such as "unauthorized" does not go away by itself, so, like pusher-js after a
    // subscription error, stop here. The next joinAll() or trigger() tries again.
    this.phx.leave()
  }

  /** @private */
  settle(outcome, value){
    const waiters = this.waiters
    this.waiters = []
    waiters.forEach(waiter => waiter[outcome](value))
  }

  /** @private */
  presenceCallback(name, callback){
    this.requirePresence()
    this.presenceCallbacks[name] = callback
  }

  /** @private */
  requirePresence(){
    if(!this.presence){
      throw new Error(`"${this.topic}" is not a presence topic (use "presence:..." or "presence-...")`)
    }
  }
}
