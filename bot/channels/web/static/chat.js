// Web chat client: one session id per browser, WebSocket with a JSON POST fallback.
// Everything the server or the guest writes is inserted with textContent, never as HTML.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const session = localStorage.getItem("concierge.session") || newId();
  localStorage.setItem("concierge.session", session);
  const lang = navigator.language || "";
  let socket = null;
  const waiting = new Map();

  function newId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function show(text, who, buttons) {
    const item = document.createElement("li");
    item.className = "msg msg--" + who;
    item.textContent = text;
    if (buttons && buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const b of buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.label;
        button.addEventListener("click", () => { show(b.label, "guest"); send({ button: b.value }); });
        row.appendChild(button);
      }
      item.appendChild(row);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function render(answer) {
    if (answer.error) { show(answer.error, "error"); return; }
    const who = answer.from === "staff" ? "staff" : "bot";  // a colleague writing from the dashboard
    for (const reply of answer.replies || []) show(reply.text, who, reply.buttons);
  }

  async function post(message) {
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(message),
      });
      render(await response.json());
    } catch (err) {
      show("⚠ " + err, "error");
    }
  }

  function send(fields) {
    const message = Object.assign({ session: session, lang: lang, id: newId() }, fields);
    if (socket && socket.readyState === WebSocket.OPEN) {
      waiting.set(message.id, message);
      socket.send(JSON.stringify(message));
    } else {
      post(message);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    try { socket = new WebSocket(scheme + location.host + "/ws?session=" + encodeURIComponent(session)); } catch (err) { socket = null; return; }
    socket.addEventListener("message", (event) => {
      const answer = JSON.parse(event.data);
      if (answer.id) waiting.delete(answer.id);
      render(answer);
    });
    socket.addEventListener("close", () => {
      // Anything sent but not answered is re-sent over HTTP with the same id: the server dedupes it.
      for (const message of waiting.values()) post(message);
      waiting.clear();
      socket = null;
      setTimeout(connect, 2000);
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    show(text, "guest");
    input.value = "";
    send({ text: text });
  });

  connect();
  send({ text: "/start" });
})();
