// A stand-in for the browser's WebSocket, handed to phoenix through
// socketOptions.transport: it records what the client sends and lets a test play the
// server by injecting frames. Frames use the phoenix v2 serializer:
// [join_ref, ref, topic, event, payload].
"use strict"

const path = require("node:path")

const BUNDLE = path.resolve(__dirname, "../../static/expusher/pusher.js")

class FakeTransport {
  constructor(url, protocols){
    this.url = url
    this.protocols = protocols
    this.readyState = 0 // connecting
    this.bufferedAmount = 0
    this.sent = []
    FakeTransport.instances.push(this)
  }

  static reset(){ FakeTransport.instances = [] }

  static last(){ return FakeTransport.instances[FakeTransport.instances.length - 1] }

  /** The server accepts the connection. */
  open(){
    this.readyState = 1
    this.onopen && this.onopen()
  }

  send(data){ this.sent.push(JSON.parse(data)) }

  close(code, reason){
    if(this.readyState === 3){ return }
    this.readyState = 3
    this.onclose && this.onclose({code: code || 1000, reason: reason || "", wasClean: true})
  }

  /** Delivers one frame from the "server". */
  inject(frame){ this.onmessage && this.onmessage({data: JSON.stringify(frame)}) }

  /** Frames sent so far with this event (and topic, when given). */
  sentFrames(event, topic){
    return this.sent.filter(f => f[3] === event && (topic === undefined || f[2] === topic))
  }

  /** Answers the last push of `event` on `topic` with a phx_reply. */
  reply(topic, event, status = "ok", response = {}){
    const frames = this.sentFrames(event, topic)
    if(!frames.length){ throw new Error(`nothing sent for ${event} on ${topic}`) }
    const [joinRef, ref] = frames[frames.length - 1]
    this.inject([joinRef, ref, topic, "phx_reply", {status, response}])
  }

  /** Broadcasts `event` to `topic`, as the server's fastlane does. */
  broadcast(topic, event, payload){ this.inject([null, null, topic, event, payload]) }
}
FakeTransport.instances = []

module.exports = {BUNDLE, FakeTransport}
