/**
 * PusherLite: the ExPusherLite browser interface on top of the official phoenix client.
 *
 *   const pusher = new PusherLite(appKey, {jwt, uniqueUserId})
 *   const channel = pusher.subscribe("general")
 *   channel.bind("new_message", payload => ...)
 *   pusher.joinAll().then(() => channel.trigger("new_message", {text: "hi"}))
 */
import {Socket} from "phoenix"
import Channel from "./channel.js"

function browserLocation(){
  return typeof location !== "undefined" ? location : null
}

function randomId(){
  const cryptoApi = typeof crypto !== "undefined" ? crypto : null
  if(cryptoApi && cryptoApi.randomUUID){ return cryptoApi.randomUUID() }
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

export default class PusherLite {
  /**
   * @param {string} appKey - the application's public key
   * @param {Object} [opts]
   * @param {string} [opts.host] - "host:port" of the ExPusher server; default: this page's host
   * @param {boolean} [opts.ssl] - wss:// instead of ws://; default: whether this page is https
   * @param {(string|function)} [opts.jwt] - a realtime JWT, or a function returning a fresh one
   *   on every (re)connect; without it the application's anonymous policy applies
   * @param {string} [opts.uniqueUserId] - identifies this client (presence key without `sub`)
   * @param {Object} [opts.socketOptions] - passed to phoenix's Socket (transport, logger, ...)
   * @param {Function} [opts.onConnect] - called each time the socket opens
   * @param {Function} [opts.onError] - called with the error on each transport error
   */
  constructor(appKey, opts = {}){
    if(!appKey){ throw new Error("PusherLite needs an application key") }
    const here = browserLocation()
    const host = opts.host || (here && here.host)
    if(!host){ throw new Error("PusherLite needs opts.host outside a browser page") }
    const ssl = opts.ssl === undefined ? !!(here && here.protocol === "https:") : opts.ssl

    this.appKey = appKey
    this.uniqueUserId = opts.uniqueUserId || randomId()
    this.url = `${ssl ? "wss" : "ws"}://${host}/socket`
    this.channels = new Map()
    // The JWT travels as phoenix's authToken: a WebSocket subprotocol, or the
    // X-Phoenix-AuthToken header over long-poll. Every browser supports subprotocols, and
    // unlike a query parameter the token then stays out of URLs, server access logs and
    // proxies. So only the non-secret values go in the query string.
    this.socket = new Socket(this.url, {
      ...opts.socketOptions,
      params: {app_key: appKey, unique_identifier: this.uniqueUserId},
      ...(opts.jwt ? {authToken: opts.jwt} : {}),
    })
    if(opts.onConnect){ this.socket.onOpen(() => opts.onConnect(this)) }
    if(opts.onError){ this.socket.onError(error => opts.onError(error)) }
  }

  /** The channel for `topic`: always the same object for the same topic. */
  subscribe(topic){
    if(!this.channels.has(topic)){ this.channels.set(topic, new Channel(topic, this.socket)) }
    return this.channels.get(topic)
  }

  /** Leaves `topic` and forgets its channel and bindings. */
  unsubscribe(topic){
    const channel = this.channels.get(topic)
    if(!channel){ return }
    this.channels.delete(topic)
    channel.leave()
  }

  channel(topic){ return this.channels.get(topic) }

  /** Opens the socket unless it is open or opening already. */
  connect(){
    this.socket.connect()
    return this
  }

  /**
   * Connects if needed and joins every subscribed channel not joined yet.
   *
   * Resolves with the channels once all are joined; rejects with {topic, reason} as soon
   * as one join is refused or times out.
   */
  joinAll(){
    this.connect()
    return Promise.all([...this.channels.values()].map(channel => channel.join()))
  }

  /** Closes the socket. Subscriptions are kept and rejoin on the next joinAll()/connect(). */
  disconnect(callback){
    this.socket.disconnect(callback)
  }

  isConnected(){ return this.socket.isConnected() }
}
