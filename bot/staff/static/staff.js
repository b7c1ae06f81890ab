// Staff dashboard: keeps SLA countdowns current without reloading. Everything else works without it.
(function () {
  "use strict";
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
  tick();
  setInterval(tick, 30000);
})();
