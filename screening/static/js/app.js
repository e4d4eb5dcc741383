// Progressive enhancement only: every page works without this script.
// 1. Moves focus to the error summary. 2. Shows and hides questions (and red-flag messages) at once
// as the patient answers, evaluating the same condition language as the server. 3. Unticks the
// other options when an exclusive one ("Nowhere else") is ticked, and it when another is.
(function () {
  "use strict";

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  var dataNode = document.getElementById("page-data");
  var form = document.querySelector("form.step-form");
  if (!dataNode || !form) { return; }
  var page = JSON.parse(dataNode.textContent);
  var MISSING = undefined;

  function wrapper(id) { return document.getElementById("question-" + id); }

  function fieldValue(id) {
    var type = page.types[id];
    var box = wrapper(id);
    if (!box || box.hidden) { return MISSING; }
    var name = "q_" + id;
    if (type === "choice" || type === "yes_no") {
      var checked = form.querySelector('input[name="' + name + '"]:checked');
      if (!checked) { return MISSING; }
      if (type === "yes_no") { return checked.value === "yes"; }
      return checked.value;
    }
    if (type === "multi_choice") {
      var values = [];
      form.querySelectorAll('input[name="' + name + '"]:checked').forEach(function (el) {
        values.push(el.value);
      });
      return values.length ? values : MISSING;
    }
    if (type === "date" || type === "month_year") { return dateValue(name, type); }
    var input = form.elements[name];
    var raw = input ? input.value.trim() : "";
    if (type === "height" || type === "weight") {
      if (raw) { return parseFloat(raw.replace(",", ".")); }
      if (type === "height") {
        var ft = (form.elements[name + "_ft"] || {}).value || "";
        var inch = (form.elements[name + "_in"] || {}).value || "";
        if (!ft.trim() && !inch.trim()) { return MISSING; }
        return ((parseFloat(ft) || 0) * 12 + (parseFloat(inch) || 0)) * 2.54;
      }
      var lb = ((form.elements[name + "_lb"] || {}).value || "").trim();
      return lb ? parseFloat(lb.replace(",", ".")) * 0.45359237 : MISSING;
    }
    if (!raw) { return MISSING; }
    if (type === "integer" || type === "number") {
      var n = Number(raw.replace(",", "."));
      return isNaN(n) ? MISSING : n;
    }
    return raw; // text and ISO dates compare as text
  }

  // A date's boxes as ISO text (YYYY-MM-DD, or YYYY-MM for a month), as the server reads them;
  // MISSING until they make a real one.
  function dateValue(name, type) {
    function box(part) { return ((form.elements[name + "_" + part] || {}).value || "").trim(); }
    var year = box("year"), month = box("month"), day = type === "date" ? box("day") : "1";
    if (!/^[0-9]{4}$/.test(year) || !/^[0-9]{1,2}$/.test(month) || !/^[0-9]{1,2}$/.test(day)) {
      return MISSING;
    }
    var y = Number(year), m = Number(month), d = Number(day);
    var check = new Date(Date.UTC(y, m - 1, d));
    if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
      return MISSING;
    }
    var text = year + "-" + (m < 10 ? "0" : "") + m;
    return type === "date" ? text + "-" + (d < 10 ? "0" : "") + d : text;
  }

  function computedValue(id) {
    var spec = page.values[id];
    var inputs = spec.inputs.map(function (i) { return lookup({ question: i }); });
    if (inputs.some(function (v) { return v === MISSING; })) { return MISSING; }
    if (spec.kind === "bmi") {
      return Math.round((inputs[1] / Math.pow(inputs[0] / 100, 2)) * 10) / 10;
    }
    return inputs.reduce(function (a, b) { return a + Number(b); }, 0);
  }

  function lookup(leaf) {
    if (leaf.question !== undefined) {
      var id = leaf.question;
      if (id in page.types) { return fieldValue(id); }
      return id in page.known ? page.known[id] : MISSING;
    }
    if (leaf.value in page.values) { return computedValue(leaf.value); }
    return leaf.value in page.known ? page.known[leaf.value] : MISSING;
  }

  function same(a, b) { return String(a) === String(b); }

  function evaluate(cond) {
    if (cond.all) { return cond.all.every(evaluate); }
    if (cond.any) { return cond.any.some(evaluate); }
    if (cond.not) { return !evaluate(cond.not); }
    var value = lookup(cond);
    if ("answered" in cond) { return (value !== MISSING) === cond.answered; }
    if (value === MISSING) { return false; }
    if ("equals" in cond) { return same(value, cond.equals); }
    if ("not_equals" in cond) { return !same(value, cond.not_equals); }
    if ("in" in cond) { return cond["in"].some(function (o) { return same(value, o); }); }
    if ("not_in" in cond) { return !cond.not_in.some(function (o) { return same(value, o); }); }
    if ("contains" in cond) { return value.some(function (v) { return same(v, cond.contains); }); }
    var ops = { gt: function (a, b) { return a > b; }, gte: function (a, b) { return a >= b; },
                lt: function (a, b) { return a < b; }, lte: function (a, b) { return a <= b; } };
    for (var op in ops) {
      if (op in cond) {
        var numeric = typeof cond[op] === "number";
        return ops[op](numeric ? Number(value) : String(value), cond[op]);
      }
    }
    return false;
  }

  var targets = Array.prototype.slice.call(document.querySelectorAll("[data-show-if]"));
  targets.forEach(function (el) { el._condition = JSON.parse(el.getAttribute("data-show-if")); });

  function refresh() {
    // Repeat until nothing changes: a question may hang on another question of the same page.
    for (var pass = 0; pass < targets.length + 1; pass++) {
      var changed = false;
      targets.forEach(function (el) {
        var show = evaluate(el._condition);
        if (el.hidden === show) { el.hidden = !show; changed = true; }
      });
      if (!changed) { break; }
    }
  }

  // 3. Exclusive options: before the refresh (and the draft), which then see the boxes as left.
  form.addEventListener("change", function (event) {
    var box = event.target;
    if (box.type !== "checkbox" || !box.checked) { return; }
    var group = box.closest("[data-exclusive-group]");
    if (!group) { return; }
    var alone = box.hasAttribute("data-exclusive");
    group.querySelectorAll('input[type="checkbox"]').forEach(function (other) {
      if (other !== box && other.checked && (alone || other.hasAttribute("data-exclusive"))) {
        other.checked = false;
      }
    });
  });

  form.addEventListener("change", refresh);
  form.addEventListener("input", refresh);
  refresh();
})();

// On a clinic device handed to a patient: after a while without any activity, close the visit
// (the server also checks this on the next request).
(function () {
  "use strict";
  var seconds = Number(document.body.getAttribute("data-kiosk-idle") || 0);
  var form = document.getElementById("kiosk-end");
  if (!seconds || !form) { return; }
  var timer;
  function reset() {
    clearTimeout(timer);
    timer = setTimeout(function () { form.submit(); }, seconds * 1000);
  }
  ["click", "keydown", "input", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, reset, { passive: true });
  });
  reset();
})();

// A document being prepared: look again every few seconds and start the download when it is
// ready (the server answers 202 until then). Without JavaScript the page offers a link.
(function () {
  "use strict";
  var waiting = document.querySelector("[data-ready-url]");
  if (!waiting || !window.fetch) { return; }
  var url = waiting.getAttribute("data-ready-url");
  var status = document.getElementById(waiting.getAttribute("data-status"));
  var tries = 0;
  function look() {
    tries += 1;
    fetch(url, { method: "GET", credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 200) {
          if (status) { status.textContent = waiting.getAttribute("data-ready-text"); }
          window.location.assign(url);
        } else if (response.status === 202 && tries < 60) {
          setTimeout(look, 3000);
        }
      })
      .catch(function () { if (tries < 60) { setTimeout(look, 3000); } });
  }
  setTimeout(look, 2000);
})();
