// The preview of a draft (screening preview); progressive only, every page works without it.
// 1. Reloads the page when the draft file changes on disk (the server lints it again).
// 2. Keeps the score panel up to date as the author answers, before Continue.
// 3. Folds the score panel on a phone.
(function () {
  "use strict";

  function meta(name) {
    var node = document.querySelector('meta[name="' + name + '"]');
    return node ? node.getAttribute("content") : null;
  }

  var hash = meta("preview-hash");
  var statusUrl = meta("preview-status");
  if (statusUrl && hash !== null) {
    var poll = function () {
      fetch(statusUrl, { cache: "no-store", credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && s.hash !== hash) { window.location.replace(window.location.href.split("#")[0]); return; }
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 1000);
  }

  var panel = document.getElementById("score-panel");
  if (!panel) { return; }
  if (window.matchMedia && window.matchMedia("(max-width: 59.99rem)").matches) { panel.open = false; }

  var url = panel.getAttribute("data-panel-url");
  var form = document.querySelector("form.step-form");
  var body = document.getElementById("score-panel-body");
  if (!url || !form || !body) { return; }
  var timer = null;
  var sent = 0;
  function update() {
    var mine = ++sent;
    fetch(url, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null && mine === sent) { body.innerHTML = html; }
      })
      .catch(function () { /* the panel updates on Continue */ });
  }
  function later() { clearTimeout(timer); timer = setTimeout(update, 250); }
  form.addEventListener("change", later);
  form.addEventListener("input", later);
})();
