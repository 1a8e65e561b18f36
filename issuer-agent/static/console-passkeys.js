// The console's passkey ceremonies (WebAuthn Level 3): adding a passkey on
// /console/passkeys and signing in with one on /console/sign-in. The server makes the
// options (POST, with the form's CSRF token) and checks the answer; this file only carries
// them between the page and navigator.credentials, with base64url on the wire, and submits
// the form with the answer as its `credential` field. No inline script: the pages' CSP
// allows this file and same-origin requests only.
(function () {
  "use strict";

  function encode(buffer) {
    var bytes = new Uint8Array(buffer);
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decode(text) {
    var s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var bytes = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes.buffer;
  }

  function options(form) {
    return fetch(form.dataset.options, {
      method: "POST",
      credentials: "same-origin",
      headers: { accept: "application/json" },
      body: new URLSearchParams({ csrf: form.elements.csrf.value }),
    }).then(function (r) {
      if (!r.ok) throw new Error("options: HTTP " + r.status);
      return r.json();
    });
  }

  function say(form, text) {
    var status = form.querySelector("[role=alert]");
    status.textContent = text;
    status.hidden = false;
  }

  function ceremony(form, run) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!window.PublicKeyCredential || !navigator.credentials) {
        say(form, form.dataset.unsupported);
        return;
      }
      options(form)
        .then(run)
        .then(function (answer) {
          form.elements.credential.value = JSON.stringify(answer);
          form.submit();
        })
        .catch(function () {
          say(form, form.dataset.failed);
        });
    });
  }

  var add = document.getElementById("passkey-add");
  if (add) {
    ceremony(add, function (o) {
      o.challenge = decode(o.challenge);
      o.user.id = decode(o.user.id);
      o.excludeCredentials = o.excludeCredentials.map(function (c) {
        return { type: c.type, id: decode(c.id) };
      });
      return navigator.credentials.create({ publicKey: o }).then(function (c) {
        return {
          id: c.id,
          rawId: encode(c.rawId),
          type: c.type,
          response: {
            clientDataJSON: encode(c.response.clientDataJSON),
            attestationObject: encode(c.response.attestationObject),
          },
        };
      });
    });
  }

  var signIn = document.getElementById("passkey-sign-in");
  if (signIn) {
    if (window.PublicKeyCredential) signIn.hidden = false;
    ceremony(signIn, function (o) {
      o.challenge = decode(o.challenge);
      o.allowCredentials = [];
      return navigator.credentials.get({ publicKey: o }).then(function (c) {
        return {
          id: c.id,
          rawId: encode(c.rawId),
          type: c.type,
          response: {
            clientDataJSON: encode(c.response.clientDataJSON),
            authenticatorData: encode(c.response.authenticatorData),
            signature: encode(c.response.signature),
            userHandle: c.response.userHandle ? encode(c.response.userHandle) : null,
          },
        };
      });
    });
  }
})();
