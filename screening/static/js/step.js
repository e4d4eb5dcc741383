// A step page's own script, progressive only: without it, Continue saves the page as always.
// 1. A "Change" link of the review page (#question-<id>) puts the focus on that question.
// 2. Keeps a draft of what is typed on the page (sent as the patient answers, and when the page
//    is hidden or closed: a phone that locks, a tab closed), so nothing is lost before Continue.
//    The server keeps it for this step only and shows it again when the step is opened.
(function () {
  "use strict";

  var form = document.querySelector("form.step-form");
  if (!form) { return; }

  // 1. Focus the question a "Change" link points at (not when errors are listed first). After
  // the load: the browser's own move to the #fragment would take the focus back.
  var hash = window.location.hash;
  if (/^#question-[A-Za-z0-9_-]+$/.test(hash) && !document.getElementById("error-summary")) {
    window.addEventListener("load", function () {
      setTimeout(function () {
        var box = document.getElementById(hash.slice(1));
        var control = box && !box.hidden && box.querySelector("input, textarea, select");
        if (control) { control.focus(); }
      }, 0);
    });
  }

  // 2. Drafts.
  var url = form.getAttribute("data-draft-url");
  var mark = form.getAttribute("data-draft-of");
  if (!url || !window.fetch || !window.URLSearchParams || !window.FormData) { return; }
  var DELAY_MS = 800;
  var timer = null;
  var sent = null; // the body last sent, so an unchanged page is not sent again
  var leaving = false; // Continue pressed: the page is being saved for real

  function body() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") { params.append(name, value); }
    });
    params.append("draft_of", mark);
    return params;
  }

  function send(closing) {
    clearTimeout(timer);
    timer = null;
    if (leaving) { return; }
    var params = body();
    var text = params.toString();
    if (text === sent) { return; }
    sent = text;
    if (closing && navigator.sendBeacon) {
      // A URLSearchParams body is sent as a form (the CSRF token is one of its fields).
      if (navigator.sendBeacon(url, params)) { return; }
    }
    fetch(url, {
      method: "POST",
      body: params,
      credentials: "same-origin",
      keepalive: true,
      headers: { "X-CSRFToken": (form.elements.csrf_token || {}).value || "" }
    }).catch(function () { sent = null; }); // offline: sent again at the next change
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(send, DELAY_MS);
  }

  sent = body().toString(); // what the page was opened with is not a draft
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("submit", function () { leaving = true; clearTimeout(timer); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { send(true); }
  });
  window.addEventListener("pagehide", function () { send(true); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) { leaving = false; } });
})();
