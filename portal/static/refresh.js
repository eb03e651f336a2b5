// Staff screens reload every 15 s to show new patients, unless someone has started filling in a form.
(function () {
  "use strict";
  var dirty = false;
  document.addEventListener("input", function () { dirty = true; });
  document.addEventListener("change", function () { dirty = true; });
  setInterval(function () {
    var a = document.activeElement;
    if (dirty || (a && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName))) return;
    location.reload();
  }, 15000);
})();
