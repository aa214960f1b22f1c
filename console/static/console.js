// Yukari console: live parts of pages. An element with data-live="URL"
// shows what the server sends for it as server-sent events: "update"
// carries the part's new HTML (rendered by the server when the cloud's
// read models changed), "signed-out" and "gone" reload the page.
"use strict";
document.querySelectorAll("[data-live]").forEach(function (el) {
  var source = new EventSource(el.getAttribute("data-live"));
  var updates = 0;
  source.addEventListener("update", function (e) {
    el.innerHTML = e.data;
    updates += 1;
    el.setAttribute("data-updates", String(updates));
  });
  ["signed-out", "gone"].forEach(function (name) {
    source.addEventListener(name, function () {
      source.close();
      window.location.reload();
    });
  });
});
// A control with data-autosubmit="EVENT" sends its form on that event
// (the time slider: on letting go); data-shows="ID" names an element that
// shows its value while it moves. Without script, the form's button does.
document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
  var shows = el.getAttribute("data-shows");
  var out = shows ? document.getElementById(shows) : null;
  el.addEventListener("input", function () {
    if (out) { out.textContent = el.value; }
  });
  el.addEventListener(el.getAttribute("data-autosubmit"), function () {
    if (el.form) { el.form.submit(); }
  });
});
