"use strict";
(function () {
  var box = document.getElementById("result");
  if (!box) { return; }
  function settled() {
    var s = box.querySelector("[data-state]");
    return s !== null && s.getAttribute("data-state") !== "pending";
  }
  if (settled()) { return; }
  var polling = false;
  function poll() {
    polling = true;
    fetch(box.getAttribute("data-fragment"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) { box.innerHTML = html; box.setAttribute("data-updated-by", "poll"); }
        if (!settled()) { setTimeout(poll, 2000); }
      }, function () { setTimeout(poll, 5000); });
  }
  if (!window.EventSource) { poll(); return; }
  var events = new EventSource(box.getAttribute("data-events"));
  events.addEventListener("result", function (e) {
    box.innerHTML = e.data;
    box.setAttribute("data-updated-by", "sse");
    if (settled()) { events.close(); }
  });
  events.onerror = function () {
    if (events.readyState === EventSource.CLOSED && !polling && !settled()) { poll(); }
  };
})();
