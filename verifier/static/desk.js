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
// "Pick a badge saved on this device": the browser's Digital Credentials API, where it exists
// (feature-detected as Chrome documents it). The request comes from the verifier, the
// wallet's answer goes back to it with the page's CSRF token; the result section above
// shows the verdict. The QR code stays for every other case.
(function () {
  var box = document.getElementById("dc-api");
  if (!box || !(navigator.credentials && "DigitalCredential" in window)) { return; }
  // A request already answered or expired is offered no more.
  var shown = document.querySelector("#result [data-state]");
  if (shown && shown.getAttribute("data-state") !== "pending") { return; }
  var button = document.getElementById("dc-api-button");
  var status = document.getElementById("dc-api-status");
  var technical = document.getElementById("dc-api-technical");
  var detail = document.getElementById("dc-api-detail");
  var url = box.getAttribute("data-request");
  box.hidden = false;
  function say(key, tech) {
    status.textContent = box.getAttribute("data-" + key);
    status.setAttribute("data-outcome", key);
    detail.textContent = tech || "";
    technical.hidden = !tech;
  }
  function failed(stage, text) { return { stage: stage, text: text }; }
  function httpError(r) {
    return r.text().then(function (t) { throw failed("verifier", "HTTP " + r.status + ": " + t.slice(0, 500)); });
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    say("waiting");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : httpError(r); })
      .then(function (req) {
        return navigator.credentials.get({
          mediation: "required",
          digital: { requests: [{ protocol: req.protocol, data: req.data }] }
        }).then(null, function (e) {
          throw failed("wallet:" + (e && e.name ? e.name : "Error"), (e && e.name ? e.name + ": " : "") + (e && e.message ? e.message : String(e)));
        });
      })
      .then(function (credential) {
        if (!credential || credential.data === undefined || credential.data === null) {
          throw failed("wallet:NotFoundError", "the browser returned no credential");
        }
        var data = typeof credential.data === "string" ? credential.data : JSON.stringify(credential.data);
        var body = new URLSearchParams();
        body.set("csrf", box.getAttribute("data-csrf"));
        body.set("data", data);
        return fetch(url, { method: "POST", credentials: "same-origin", body: body });
      })
      .then(function (r) { return r.ok ? r.json() : httpError(r); })
      .then(function (answer) {
        say("sent", answer.verified ? "" : "failed checks: " + answer.failed_checks.join(", "));
      })
      .catch(function (e) {
        button.disabled = false;
        var stage = (e && e.stage) || "page";
        var text = (e && e.text) || String(e);
        if (stage === "wallet:AbortError" || stage === "wallet:NotAllowedError") { say("cancelled", text); }
        else if (stage === "wallet:NotSupportedError" || stage === "wallet:NotFoundError") { say("no-wallet", text); }
        else if (stage.indexOf("wallet:") === 0) { say("refused", text); }
        else { say("not-passed", text); }
      });
  });
})();
