"use strict";
(function () {
  var box = document.getElementById("check-result");
  var tokenField = document.querySelector("#check-form input[name=csrf]");
  if (!box || !tokenField) { return; }
  var token = tokenField.value;
  function show(html, how) { box.innerHTML = html; box.setAttribute("data-updated-by", how); }
  function post(path, type, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "content-type": type, "x-csrf-token": token }
    });
  }
  function toCanvas(source, w, h) {
    var scale = Math.min(1, 1280 / Math.max(w, h));
    var c = document.createElement("canvas");
    c.width = Math.round(w * scale); c.height = Math.round(h * scale);
    c.getContext("2d").drawImage(source, 0, 0, c.width, c.height);
    return c;
  }
  var camStatus = document.getElementById("camera-status");
  function say(text) { camStatus.textContent = text; }

  var file = document.getElementById("file");
  file.addEventListener("change", function () {
    var f = file.files[0];
    if (!f) { return; }
    say("");
    show("<p>Checking…</p>", "pending");
    var sendAsIs = f.type === "image/png" || f.type === "image/svg+xml" ||
      f.type === "application/json" || /\.(jwt|json|txt)$/i.test(f.name);
    if (sendAsIs) {
      post("/check/upload", f.type || "text/plain", f)
        .then(function (r) { return r.text(); })
        .then(function (html) { show(html, "upload"); });
      return;
    }
    // A photo in another format: drawn (downscaled) and sent as PNG to be scanned.
    var url = URL.createObjectURL(f);
    var img = new Image();
    img.onload = function () {
      var c = toCanvas(img, img.naturalWidth, img.naturalHeight);
      URL.revokeObjectURL(url);
      c.toBlob(function (b) {
        post("/check/upload", "image/png", b)
          .then(function (r) { return r.text(); })
          .then(function (html) { show(html, "upload"); });
      }, "image/png");
    };
    img.onerror = function () { show("<p class=\"error\">This file cannot be read as a picture.</p>", "upload"); };
    img.src = url;
  });

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
    var c = toCanvas(video, video.videoWidth, video.videoHeight);
    c.toBlob(function (b) {
      post("/check/frame", "image/png", b)
        .then(function (r) { return r.json(); })
        .then(function (j) {
          busy = false;
          if (j.found && timer) {
            stop();
            say("QR code found: " + j.text);
            show(j.html, "camera");
          }
        }, function () { busy = false; });
    }, "image/png");
  }
  start.addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("This browser gives no access to a camera here.");
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false; stopButton.hidden = false; start.hidden = true;
        video.play();
        say("Looking for a QR code…");
        timer = setInterval(frame, 500);
      }, function (e) { say("The camera is not available: " + e.name); });
  });
  stopButton.addEventListener("click", function () { stop(); say(""); });
})();
