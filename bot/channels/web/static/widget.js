// The chat on the hotel's own website. The hotel pastes one line into its pages (see the README):
//   <script src="https://chat.example-hotel.com/static/widget.js" async></script>
// and lists its site's origin in http.embed_origins; the chat page refuses to be framed anywhere else
// (Content-Security-Policy frame-ancestors). This script only draws a button and, on the first click, an
// iframe of the chat page: the conversation itself runs on the chat's own origin, as on its own page.
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || window.conciergeWidget) return;
  const origin = new URL(script.src).origin;
  const label = script.getAttribute("data-label");  // text instead of the speech-bubble icon
  const title = script.getAttribute("data-title") || "Chat";

  const button = document.createElement("button");
  button.type = "button";
  button.id = "concierge-widget-button";
  if (label) button.textContent = label; else button.appendChild(bubbleIcon());
  button.setAttribute("aria-label", title);
  button.setAttribute("aria-expanded", "false");
  Object.assign(button.style, {
    position: "fixed", right: "20px", bottom: "20px", zIndex: "2147483000", width: "56px", height: "56px",
    borderRadius: "50%", border: "0", background: "#1f4e5f", color: "#fff", fontSize: "24px", cursor: "pointer",
    boxShadow: "0 4px 14px rgba(0,0,0,.25)", display: "flex", alignItems: "center", justifyContent: "center",
  });

  function bubbleIcon() {  // drawn, not an emoji: a page without an emoji font would show a box
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  let frame = null;
  function toggle() {
    if (!frame) {  // only a guest who opens the chat gets a session
      frame = document.createElement("iframe");
      frame.id = "concierge-widget-frame";
      frame.title = title;
      frame.src = origin + "/?embed=1";
      Object.assign(frame.style, {
        position: "fixed", right: "20px", bottom: "88px", zIndex: "2147483000", width: "370px",
        height: "560px", maxWidth: "calc(100vw - 40px)", maxHeight: "calc(100vh - 110px)", border: "0",
        borderRadius: "12px", boxShadow: "0 8px 28px rgba(0,0,0,.25)", background: "#fff",
      });
      document.body.appendChild(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
    button.setAttribute("aria-expanded", String(!frame.hidden));
  }
  button.addEventListener("click", toggle);
  window.conciergeWidget = { open: () => { if (!frame || frame.hidden) toggle(); } };

  function mount() { document.body.appendChild(button); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
