// Live queue position: the server pushes the token's state (already in the page's language) over a WebSocket.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.WebSocket) return;
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    "/portal/queue/ws?token=" + encodeURIComponent(live.dataset.token);
  var delay = 1000, lastStatus = null;
  function text(id, value) { var n = document.getElementById(id); if (n) { n.textContent = value || ""; n.hidden = !value && (id === "missed-text" || id === "busy-text"); } }
  function show(id, on) { var n = document.getElementById(id); if (n) n.hidden = !on; }
  function connect() {
    var ws = new WebSocket(url);
    ws.onmessage = function (event) {
      var s = JSON.parse(event.data);
      if (s.error) return;
      delay = 1000;
      text("status-text", s.text); text("wait-text", s.wait_text); text("missed-text", s.missed_text);
      text("busy-text", s.busy_text);
      live.classList.toggle("called", s.status === "called");
      show("join-form", s.status === "booked");
      show("call-form", s.status === "called" || s.status === "in_consult");
      if (s.call_ready && lastStatus !== "called" && navigator.vibrate) navigator.vibrate([300, 200, 300]);
      lastStatus = s.status;
    };
    ws.onclose = function () { setTimeout(connect, delay); delay = Math.min(delay * 2, 30000); };
  }
  connect();
})();
