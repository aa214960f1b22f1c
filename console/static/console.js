// Yukari console: live parts of pages. An element with data-live="URL"
// shows what the server sends for it as server-sent events: "update"
// carries the part's new HTML (rendered by the server when the cloud's
// read models changed), "signed-out" and "gone" reload the page.
// "superseded" says that newer pages of the session took this one's place
// (a session has a few streams at most): the part stops following until
// the page is shown again, and then follows anew.
"use strict";
document.querySelectorAll("[data-live]").forEach(function (el) {
  var updates = 0;
  var waiting = false;
  var follow = function () {
    var source = new EventSource(el.getAttribute("data-live"));
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
    source.addEventListener("superseded", function () {
      source.close();
      waiting = true;
    });
  };
  document.addEventListener("visibilitychange", function () {
    if (waiting && document.visibilityState === "visible") {
      waiting = false;
      follow();
    }
  });
  follow();
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
// A form with data-upload="URL" sends its file as the body of a PUT to
// URL?key=FOLDER+NAME (streamed by the browser, never read into memory
// here), with the page's CSRF token in a header. The server answers as a
// form does, with a 303 to the folder's page and a message for it; the
// redirect is not followed here (that would show the message to this
// script): the folder's page (data-back?prefix=FOLDER) is opened instead.
document.querySelectorAll("form[data-upload]").forEach(function (form) {
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var input = form.querySelector("input[type=file]");
    var file = input && input.files[0];
    if (!file) { return; }
    var prefix = form.querySelector("input[name=prefix]");
    var folder = prefix ? prefix.value : "";
    if (folder !== "" && folder.slice(-1) !== "/") { folder += "/"; }
    var status = form.querySelector("[role=status]");
    var button = form.querySelector("button[type=submit]");
    var failed = function () {
      if (status) { status.textContent = form.getAttribute("data-failed"); }
      if (button) { button.disabled = false; }
    };
    if (status) { status.textContent = form.getAttribute("data-uploading"); }
    if (button) { button.disabled = true; }
    fetch(form.getAttribute("data-upload") + "?key=" + encodeURIComponent(folder + file.name), {
      method: "PUT",
      body: file,
      credentials: "same-origin",
      redirect: "manual",
      headers: {
        "x-csrf-token": form.getAttribute("data-csrf"),
        "content-type": file.type || "application/octet-stream"
      }
    }).then(function (response) {
      if (response.type === "opaqueredirect") {
        var slash = folder.lastIndexOf("/");
        var at = slash < 0 ? "" : folder.slice(0, slash + 1);
        window.location.assign(form.getAttribute("data-back") + "?prefix=" + encodeURIComponent(at));
      } else {
        failed();
      }
    }, failed);
  });
});
