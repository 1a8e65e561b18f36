"use strict";
(function () {
  var box = document.getElementById("check-result");
  var tokenField = document.querySelector("#check-form input[name=csrf]");
  var form = document.getElementById("upload-form");
  if (!box || !tokenField || !form) { return; }
  var token = tokenField.value;
  // The page's words (in its language) for what the script says.
  function word(el, name) { return el.getAttribute("data-" + name) || ""; }
  function show(html, how) { box.innerHTML = html; box.setAttribute("data-updated-by", how); }
  function note(text, how) {
    var p = document.createElement("p");
    p.textContent = text;
    box.innerHTML = "";
    box.appendChild(p);
    box.setAttribute("data-updated-by", how);
  }
  function post(path, type, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "content-type": type, "x-csrf-token": token }
    });
  }
  // Longest side of a photo sent for checking: the server reads QR codes at this size.
  var MAX_SIDE = 1600;
  // A PNG up to this size is sent as it is: it may be a baked badge.
  var PNG_AS_IS = 2 * 1024 * 1024;
  function toCanvas(source, w, h, side) {
    var scale = Math.min(1, side / Math.max(w, h));
    var c = document.createElement("canvas");
    c.width = Math.max(1, Math.round(w * scale)); c.height = Math.max(1, Math.round(h * scale));
    var g = c.getContext("2d");
    g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height);
    g.drawImage(source, 0, 0, c.width, c.height);
    return c;
  }
  var camStatus = document.getElementById("camera-status");
  function say(text) { camStatus.textContent = text; }

  function sendUpload(type, body) {
    note(word(form, "checking"), "pending");
    post("/check/upload", type, body)
      .then(function (r) { return r.text(); })
      .then(function (html) { show(html, "upload"); },
        function () { note(word(form, "upload-failed"), "upload"); });
  }
  var file = document.getElementById("file");
  var sent = null;
  function uploadChosen() {
    var f = file.files[0];
    if (!f || f === sent) { return; }
    sent = f;
    say("");
    var sendAsIs = (f.type === "image/png" && f.size <= PNG_AS_IS) || f.type === "image/svg+xml" ||
      f.type === "application/json" || /\.(jwt|json|txt)$/i.test(f.name);
    if (sendAsIs) {
      sendUpload(f.type || "text/plain", f);
      return;
    }
    // A photo: drawn at most MAX_SIDE pixels a side and sent as JPEG.
    note(word(form, "shrinking"), "pending");
    var url = URL.createObjectURL(f);
    var img = new Image();
    img.onload = function () {
      var c = toCanvas(img, img.naturalWidth, img.naturalHeight, MAX_SIDE);
      URL.revokeObjectURL(url);
      c.toBlob(function (b) {
        if (!b) { note(word(form, "not-a-picture"), "upload"); return; }
        box.setAttribute("data-sent-width", String(c.width));
        box.setAttribute("data-sent-height", String(c.height));
        box.setAttribute("data-sent-bytes", String(b.size));
        sendUpload("image/jpeg", b);
      }, "image/jpeg", 0.9);
    };
    img.onerror = function () { URL.revokeObjectURL(url); note(word(form, "not-a-picture"), "upload"); };
    img.src = url;
  }
  file.addEventListener("change", uploadChosen);
  // With the script, the form's button sends the chosen file the same way (no reload).
  form.addEventListener("submit", function (e) { e.preventDefault(); sent = null; uploadChosen(); });

  var video = document.getElementById("camera");
  var start = document.getElementById("camera-start");
  var stopButton = document.getElementById("camera-stop");
  var stream = null, timer = null, busy = false;
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.hidden = true; stopButton.hidden = true; start.hidden = false;
  }
  function frame() {
    if (busy || !video.videoWidth) { return; }
    busy = true;
    var c = toCanvas(video, video.videoWidth, video.videoHeight, 1280);
    c.toBlob(function (b) {
      post("/check/frame", "image/png", b)
        .then(function (r) { return r.json(); })
        .then(function (j) {
          busy = false;
          if (j.found && timer) {
            stop();
            say(word(camStatus, "qr-found") + " " + j.text);
            show(j.html, "camera");
          }
        }, function () { busy = false; });
    }, "image/png");
  }
  start.addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(word(camStatus, "no-camera"));
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false; stopButton.hidden = false; start.hidden = true;
        video.play();
        say(word(camStatus, "looking"));
        timer = setInterval(frame, 500);
      }, function () { say(word(camStatus, "camera-unavailable")); });
  });
  stopButton.addEventListener("click", function () { stop(); say(""); });
})();
