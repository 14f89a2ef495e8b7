// The admin page's script: the version live from the event stream, the fleet every two
// seconds, and a confirmation before pinning or unpinning. Everything works without it.
"use strict";

(function () {
  var FLEET_EVERY_MS = 2000;

  function later(held, message) {
    // An event changes the page only when it is newer than what the page shows: the
    // stream opens with the current version, whose kind says nothing about a pin made
    // since without a change.
    var epoch = Number(held.dataset.epoch), seq = Number(held.dataset.seq);
    return message.epoch > epoch || (message.epoch === epoch && message.seq > seq);
  }

  function followVersion() {
    var current = document.getElementById("current-version");
    var pinned = document.getElementById("pinned");
    if (!current || !window.EventSource) return;
    var events = new EventSource("/admin/whatsapp/version/events");
    events.addEventListener("version", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (typeof message.string !== "string" || !later(current, message)) return;
      current.textContent = message.string;
      current.dataset.epoch = String(message.epoch);
      current.dataset.seq = String(message.seq);
      // A change is a pin's, or else (a fetch, an unpin) it happened unpinned.
      if (pinned && message.kind) pinned.textContent = message.kind === "pin" ? "pinned" : "not pinned";
    });
  }

  function refreshFleet() {
    var shown = document.getElementById("fleet");
    if (!shown || !window.fetch) return;
    fetch("/admin/fleet", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var template = document.createElement("template");
        template.innerHTML = html;
        var fresh = template.content.getElementById("fleet");
        var now = document.getElementById("fleet");
        if (fresh && now) now.replaceWith(fresh);
      })
      .catch(function () { /* the next round tries again */ })
      .then(function () { setTimeout(refreshFleet, FLEET_EVERY_MS); });
  }

  function confirmBefore(formId, question) {
    var form = document.getElementById(formId);
    if (!form) return;
    form.addEventListener("submit", function (event) {
      var asked = typeof question === "function" ? question(form) : question;
      if (!window.confirm(asked)) event.preventDefault();
    });
  }

  followVersion();
  setTimeout(refreshFleet, FLEET_EVERY_MS);
  confirmBefore("pin-form", function (form) {
    return "Pin version " + form.elements.version.value + "? Fetches will not apply until unpinned.";
  });
  confirmBefore("unpin-form", "Unpin? The newest version upstream served applies.");
})();
