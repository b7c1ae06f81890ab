// Staff dashboard: SLA countdowns that keep ticking, and the live feed (/staff/events, Server-Sent Events):
// new tickets, guests writing on conversations staff hold, SLA breaches and messages held outside a
// channel's window (linking to the guest's page) appear without a reload, with
// an opt-in browser notification and sound. Everything else works without this script.
(function () {
  "use strict";
  const ALERTS = "concierge.alerts";
  let audio = null;

  function tick() {
    const now = Date.now();
    for (const badge of document.querySelectorAll(".sla[data-due]")) {
      const minutes = Math.floor((Date.parse(badge.dataset.due) - now) / 60000);
      const late = minutes < 0;
      badge.textContent = (late ? badge.dataset.late : badge.dataset.left).replace("{m}", String(Math.abs(minutes)));
      badge.classList.toggle("late", late);
      badge.classList.toggle("warn", !late && minutes < 10);
      badge.classList.toggle("ok", !late && minutes >= 10);
    }
  }

  function alertsOn() {
    return window.localStorage.getItem(ALERTS) === "on";
  }

  function showToggle(button) {
    const on = alertsOn();
    button.textContent = on ? button.dataset.on : button.dataset.off;
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function setupToggle() {
    const button = document.getElementById("alerts");
    if (!button) return;
    button.hidden = false;
    showToggle(button);
    button.addEventListener("click", function () {
      if (alertsOn()) {
        window.localStorage.setItem(ALERTS, "off");
      } else {
        window.localStorage.setItem(ALERTS, "on");
        audio = audio || (window.AudioContext ? new window.AudioContext() : null); // created on a click: allowed to play
        if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
      }
      showToggle(button);
    });
  }

  function beep() {
    if (!window.AudioContext) return;
    audio = audio || new window.AudioContext();
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = 880;
    gain.gain.value = 0.15;
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.25);
  }

  function announce(news) {
    const box = document.getElementById("live");
    if (box) {
      const link = document.createElement("a");
      link.href = news.url;
      link.className = "toast " + news.kind;
      const title = document.createElement("strong");
      title.textContent = news.title;
      link.append(title, document.createTextNode(" " + news.text));
      box.prepend(link);
      while (box.children.length > 5) box.lastChild.remove();
    }
    if (!alertsOn()) return;
    beep();
    if ("Notification" in window && Notification.permission === "granted") {
      const note = new Notification(news.title, { body: news.text, tag: news.kind + ":" + news.ticket });
      note.onclick = function () { window.focus(); window.location.href = news.url; };
    }
  }

  async function refresh(news) {
    const parts = [];
    if (document.getElementById("queue-list")) parts.push("queue-list");
    const here = document.querySelector("[data-ticket]");
    if (here && here.dataset.ticket === String(news.ticket)) parts.push("conversation", "timeline");
    if (!parts.length) return;
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of parts) {
      const fresh = page.getElementById(id);
      const old = document.getElementById(id);
      if (fresh && old) old.replaceWith(fresh);
    }
    tick();
  }

  function listen() {
    const url = document.body.dataset.live;
    if (!url || !window.EventSource) return;
    const source = new EventSource(url);
    const onNews = function (event) {
      const news = JSON.parse(event.data);
      announce(news);
      refresh(news);
    };
    for (const kind of ["ticket", "message", "reopened", "sla", "held"]) source.addEventListener(kind, onNews);
    source.addEventListener("open", function () {
      // After a dropped connection (a restart, a network blip) what happened meanwhile was not streamed:
      // bring the queue up to date once.
      if (document.body.dataset.liveState) refresh({ ticket: null });
      document.body.dataset.liveState = "open";
    });
  }

  tick();
  setInterval(tick, 30000);
  setupToggle();
  listen();
})();
