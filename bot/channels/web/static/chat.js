// Web chat client. Everything the server or the guest writes is inserted with textContent, never as HTML.
//
// Nothing a guest sends is lost: every message gets an id and is kept in localStorage until the server
// has answered it; unanswered messages are re-sent, in order and with the same ids, after a failed
// request, a reconnect or a reload (the server answers a repeated id with the replies it already gave,
// and never processes it twice). On load the conversation comes back from /api/chat/history, so what
// staff wrote while the tab was closed appears in context. Guest messages go over HTTP; the WebSocket
// only brings what staff write.
//
// A refusal for too many new chats from the guest's address (429) is not an outage: the page says so
// politely in the guest's language (the server's ``texts.busy``) and re-sends after Retry-After, same ids.
// A socket refused for the same reason is closed with 1013 (try again later); it connects again once the
// session has been let in.
(function () {
  "use strict";
  const SESSION_KEY = "concierge.session";
  const PENDING_KEY = "concierge.pending";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const header = document.getElementById("hotel");
  const status = document.getElementById("status");
  const busy = document.getElementById("busy");
  const lang = navigator.language || "";
  let session = localStorage.getItem(SESSION_KEY) || "";
  if (!/^[0-9a-f]{32,}$/.test(session)) {  // 128 random bits: the session is the guest's only key
    session = newId();
    localStorage.setItem(SESSION_KEY, session);
  }
  let pending = loadPending();  // [{id, fields: {text} | {button}, label?}], oldest first
  let flushing = false;
  let retryTimer = null;
  let retryDelay = 1000;
  let busyUntil = 0;  // Date.now() before which the server asked us not to try again (Retry-After)
  let socketDeferred = false;  // the socket was refused with the session: connect once the session is in
  const shownLines = new Set();  // history ids on the page: a staff message pushed again is not shown twice

  function newId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function loadPending() {
    try {
      const stored = JSON.parse(localStorage.getItem(PENDING_KEY) || "[]");
      return Array.isArray(stored) ? stored.filter((m) => m && typeof m.id === "string" && m.fields) : [];
    } catch (err) {
      return [];
    }
  }

  function savePending() {
    localStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  }

  function show(text, who, buttons, staffName) {
    const item = document.createElement("li");
    item.className = "msg msg--" + who;
    if (who === "staff" && staffName) {
      const name = document.createElement("span");
      name.className = "msg__name";
      name.textContent = staffName;
      item.appendChild(name);
    }
    item.appendChild(document.createTextNode(text));
    if (buttons && buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const b of buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.label;
        button.addEventListener("click", () => send({ button: b.value }, b.label));
        row.appendChild(button);
      }
      item.appendChild(row);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function showGuest(message) {
    const text = message.label || message.fields.text || "";
    if (!text || text === "/start") return;  // the page's own greeting request is not the guest's words
    const item = show(text, "guest");
    item.dataset.id = message.id;
    item.classList.add("msg--sending");
  }

  function setOffline(offline) {
    status.hidden = !offline;
  }

  function setBusy(seconds) {
    busy.hidden = seconds <= 0;
    busyUntil = seconds > 0 ? Date.now() + seconds * 1000 : 0;
  }

  function retryAfter(response) {
    const seconds = parseInt(response.headers.get("Retry-After") || "", 10);
    return seconds > 0 ? Math.min(seconds, 3600) : 5;
  }

  function answered(message, answer) {
    pending = pending.filter((m) => m.id !== message.id);
    savePending();
    const bubble = log.querySelector('[data-id="' + message.id + '"]');
    if (bubble) bubble.classList.remove("msg--sending");
    if (answer.error) { show(answer.error, "error"); return; }
    for (const reply of answer.replies || []) show(reply.text, "bot", reply.buttons);
  }

  // Sends what is pending, one at a time and in order; on a network error or a 5xx it waits (1 s,
  // doubling up to 15 s), on a 429 as long as Retry-After says, and tries again with the same ids, for as
  // long as it takes.
  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      while (pending.length) {
        const message = pending[0];
        let answer;
        try {
          const response = await fetch("/api/chat", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify(Object.assign({ session: session, lang: lang, id: message.id }, message.fields)),
          });
          if (response.status === 429) {
            setOffline(false);
            setBusy(retryAfter(response));
            retryLater(busyUntil - Date.now());
            return;
          }
          if (response.status >= 500) throw new Error("HTTP " + response.status);
          answer = await response.json();
        } catch (err) {
          setBusy(0);  // an outage now, whatever the server said before
          setOffline(true);
          retryLater();
          return;
        }
        setOffline(false);
        setBusy(0);
        retryDelay = 1000;
        answered(message, answer);
      }
      if (socketDeferred) { socketDeferred = false; connect(); }  // the session is in now
    } finally {
      flushing = false;
    }
  }

  function retryLater(delay) {
    if (retryTimer) return;
    retryTimer = setTimeout(() => { retryTimer = null; flush(); }, delay || retryDelay);
    if (!delay) retryDelay = Math.min(retryDelay * 2, 15000);
  }

  function retryNow() {
    if (Date.now() < busyUntil) return;  // asked to wait: the timer set for then stays
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    retryDelay = 1000;
    flush();
  }

  function send(fields, label) {
    const message = { id: newId(), fields: fields, label: label };
    pending.push(message);
    savePending();
    showGuest(message);
    flush();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let socket;
    try {
      socket = new WebSocket(scheme + location.host + "/ws?session=" + encodeURIComponent(session));
    } catch (err) {
      setTimeout(connect, 2000);
      return;
    }
    socket.addEventListener("open", retryNow);  // the server is back: what waits goes now
    socket.addEventListener("message", (event) => {
      const answer = JSON.parse(event.data);
      // pushed by the hotel: a staff reply, or a bot message sent later (a hand-back, a late notice)
      if ((answer.from !== "staff" && answer.from !== "bot") || shownLines.has(answer.message_id)) return;
      shownLines.add(answer.message_id);
      for (const reply of answer.replies || []) show(reply.text, answer.from, reply.buttons, answer.staff_name);
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 1013 && pending.length) { socketDeferred = true; return; }  // see flush()
      setTimeout(connect, 2000);
    });
  }

  async function getJson(path) {
    try {
      const response = await fetch(path);
      return response.ok ? await response.json() : null;
    } catch (err) {
      return null;
    }
  }

  async function start() {
    const hotel = await getJson("/api/chat/hotel?lang=" + encodeURIComponent(lang));
    if (hotel && hotel.name) { header.textContent = hotel.name; document.title = hotel.name; }
    if (hotel && hotel.texts && hotel.texts.busy) busy.textContent = hotel.texts.busy;
    const history = await getJson("/api/chat/history?session=" + session);
    const messages = (history && history.messages) || [];
    for (const m of messages) {
      shownLines.add(m.id);
      if (m.from === "guest" && m.text === "/start") continue;
      show(m.text, m.from, m.buttons, m.staff_name);
    }
    const seen = new Set(messages.filter((m) => m.from === "guest").map((m) => m.id));
    pending = pending.filter((m) => !seen.has(m.id));  // answered before the page went away
    savePending();
    for (const message of pending) showGuest(message);
    if (!messages.length && !pending.length) send({ text: "/start" });
    connect();
    flush();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    send({ text: text });
  });
  window.addEventListener("online", retryNow);

  start();
})();
