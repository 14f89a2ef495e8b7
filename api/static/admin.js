// The admin page's script: the version live from the event stream; the state, the history
// and the fleet reloaded every two seconds (the state at once on each version event, too);
// a confirmation before pinning or unpinning. Everything works without it.
"use strict";

(function () {
  var EVERY_MS = 2000;

  function newer(a, b, field) {
    // Whether copy `a` of the state is newer than `b`, by epoch then `field` (a counter).
    var epochA = Number(a.dataset.epoch), epochB = Number(b.dataset.epoch);
    return epochA > epochB || (epochA === epochB && Number(a.dataset[field]) > Number(b.dataset[field]));
  }

  function followVersion(onEvent) {
    var current = document.getElementById("current-version");
    if (!current || !window.EventSource) return;
    var events = new EventSource("/admin/whatsapp/version/events");
    events.addEventListener("version", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      // Looked up again: the state section is replaced now and then.
      current = document.getElementById("current-version");
      var pinned = document.getElementById("pinned");
      // An event changes the page only when it is newer than what the page shows: the
      // stream opens with the current version, whose kind says nothing about a pin made
      // since without a change.
      if (typeof message.string !== "string" || !current || !newer({ dataset: message }, current, "seq")) return;
      current.textContent = message.string;
      current.dataset.epoch = String(message.epoch);
      current.dataset.seq = String(message.seq);
      // A change is a pin's, or else (a fetch, an unpin) it happened unpinned.
      if (pinned && message.kind) pinned.textContent = message.kind === "pin" ? "pinned" : "not pinned";
      onEvent();
    });
  }

  function stateIsOlder(fresh) {
    // An answer read before the last event (or overtaken by another) is not put back.
    var state = document.getElementById("state"), version = document.getElementById("current-version");
    var freshState = fresh.getElementById("state"), freshVersion = fresh.getElementById("current-version");
    if (!state || !version || !freshState || !freshVersion) return false;
    return newer(state, freshState, "rev") || newer(version, freshVersion, "seq");
  }

  function swap(fresh, ids) {
    // Only these elements are replaced (never the forms: what is typed stays), and only
    // when changed, so a selection in them lasts while nothing moves.
    ids.forEach(function (id) {
      var now = document.getElementById(id), replacement = fresh.getElementById(id);
      if (now && replacement && !now.isEqualNode(replacement)) now.replaceWith(replacement);
    });
  }

  function keepFresh(path, ids, isOlder) {
    // Reload `ids` from `path` every EVERY_MS; the function returned reloads them now
    // (or right after a reload under way, whose answer may predate the cause).
    var timer = null, busy = false, again = false;
    function round() {
      clearTimeout(timer);
      if (busy) { again = true; return; }
      busy = true;
      fetch(path, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var template = document.createElement("template");
          template.innerHTML = html;
          if (!isOlder(template.content)) swap(template.content, ids);
        })
        .catch(function () { /* the next round tries again */ })
        .then(function () {
          busy = false;
          if (again) { again = false; round(); } else { timer = setTimeout(round, EVERY_MS); }
        });
    }
    timer = setTimeout(round, EVERY_MS);
    return round;
  }

  function confirmBefore(formId, question) {
    var form = document.getElementById(formId);
    if (!form) return;
    form.addEventListener("submit", function (event) {
      var asked = typeof question === "function" ? question(form) : question;
      if (!window.confirm(asked)) event.preventDefault();
    });
  }

  if (window.fetch && document.getElementById("state")) {
    followVersion(keepFresh("/admin/state", ["state", "history"], stateIsOlder));
    keepFresh("/admin/fleet", ["fleet"], function () { return false; });
  } else {
    followVersion(function () {});
  }
  confirmBefore("pin-form", function (form) {
    return "Pin version " + form.elements.version.value + "? Fetches will not apply until unpinned.";
  });
  confirmBefore("unpin-form", "Unpin? The newest version upstream served applies.");
})();
