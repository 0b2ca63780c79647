// The /demo/ chat page: PusherLite on the "general" topic of the demo application, and
// who is online through presence on "presence:demo". The server renders the app key, a
// personal JWT and the REST trigger URL into #demo-config.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("demo-config").textContent);
  const status = document.getElementById("status");
  const form = document.getElementById("chat-form");
  const list = document.getElementById("messages");
  const online = document.getElementById("online");
  // By id: form.name would be the form's own name attribute, not the input.
  const nameInput = document.getElementById("name");
  const messageInput = document.getElementById("message");

  function setStatus(text, error) {
    status.textContent = text;
    status.className = error ? "message error" : "notice";
  }

  function show(payload) {
    const item = document.createElement("li");
    item.className = "message";
    const name = document.createElement("strong");
    name.className = "name";
    name.textContent = payload.name || "anonymous";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = ` ${payload.message || ""}`;
    item.append(name, text);
    list.append(item);
  }

  const pusher = new PusherLite(config.appKey, {
    host: location.host,
    jwt: config.jwt,
    uniqueUserId: config.uniqueUserId,
    // After a reconnect phoenix rejoins by itself; joinAll() reports when that is done.
    onConnect: () => join(),
    onError: () => setStatus("connection lost, reconnecting…", true),
  });
  const channel = pusher.subscribe("general");
  channel.bind("new_message", show);

  // One item per user id (the JWT's sub); a user with several tabs has several metas.
  function showOnline(members) {
    const items = members
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map(({ id, metas }) => {
        const item = document.createElement("li");
        item.dataset.userId = id;
        item.dataset.tabs = String(metas.length);
        const you = id === config.uniqueUserId ? " (you)" : "";
        const tabs = metas.length === 1 ? "1 tab" : `${metas.length} tabs`;
        item.textContent = `${id}${you}: ${tabs}`;
        return item;
      });
    online.replaceChildren(...items);
  }

  const room = pusher.subscribe("presence:demo");
  room.onSync(() => showOnline(room.members()));

  function join() {
    pusher.joinAll().then(
      () => setStatus("connected"),
      (error) => setStatus(`could not join ${error.topic}: ${error.reason}`, true),
    );
  }

  function sendThroughApi(payload) {
    return fetch(config.triggerUrl, {
      method: "POST",
      headers: { Authorization: `Bearer ${config.jwt}` },
      body: new URLSearchParams(payload),
    }).then((response) => {
      if (!response.ok) {
        return response.json().then(
          (body) => Promise.reject({ reason: (body.error && body.error.message) || response.status }),
          () => Promise.reject({ reason: `HTTP ${response.status}` }),
        );
      }
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const payload = { name: nameInput.value.trim(), message: messageInput.value.trim() };
    if (!payload.message) return;
    const sent = document.getElementById("through-api").checked
      ? sendThroughApi(payload)
      : channel.trigger("new_message", payload);
    sent.then(
      () => {
        messageInput.value = "";
        if (channel.isJoined()) setStatus("connected");
      },
      (error) => setStatus(`not sent: ${error.reason || error}`, true),
    );
  });

  setStatus("connecting");
  join();
})();
