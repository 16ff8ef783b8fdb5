// The live room, a little JavaScript: keep the page's live part up to date (server-sent
// events, falling back to polling), and send forms without leaving the page. Without it the
// pages still work as plain forms. No timers are shown and nothing is animated.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !live.dataset.live) { return; }
  var base = live.dataset.live;
  var key = live.dataset.key;
  var status = document.getElementById("status");
  var problem = document.getElementById("problem");
  var polling = null;

  function edited() {
    // What the user has typed or chosen but not sent, by id, so a refresh does not lose it.
    var kept = {};
    live.querySelectorAll("input[id], textarea[id], select[id]").forEach(function (el) {
      if (el.type === "hidden") { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked !== el.defaultChecked) { kept[el.id] = el.checked; }
      } else if (el.tagName === "SELECT") {
        var chosen = el.options[el.selectedIndex];
        if (chosen && !chosen.defaultSelected) { kept[el.id] = el.value; }
      } else if (el.value !== el.defaultValue) { kept[el.id] = el.value; }
    });
    return kept;
  }

  function apply(data, sent) {
    if (!data || typeof data.html !== "string" || data.key === key) { return; }
    var focused = document.activeElement && document.activeElement.id;
    var kept = sent ? {} : edited();
    var heading = live.querySelector("h1");
    var before = heading ? heading.textContent : "";
    key = data.key;
    live.innerHTML = data.html;
    Object.keys(kept).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { return; }
      if (el.type === "checkbox" || el.type === "radio") { el.checked = kept[id]; } else { el.value = kept[id]; }
    });
    var now = live.querySelector("h1");
    var target = focused && document.getElementById(focused);
    if (target) { target.focus(); }
    else if (now && now.textContent !== before && now.hasAttribute("tabindex")) { now.focus(); }
    if (status && data.status && now && now.textContent !== before) { status.textContent = data.status; }
    if (problem) { problem.hidden = true; problem.textContent = ""; }
  }

  function poll() {
    if (polling) { return; }
    polling = window.setInterval(function () {
      fetch(base + "/poll?key=" + encodeURIComponent(key), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.status === 200 ? r.json() : null; })
        .then(function (d) { if (d) { apply(d, false); } })
        .catch(function () {});
    }, 2000);
  }

  function listen() {
    if (!window.EventSource) { poll(); return; }
    var heard = false;
    var source = new EventSource(base + "/live");
    source.addEventListener("view", function (e) {
      heard = true;
      try { apply(JSON.parse(e.data), false); } catch (err) { /* a broken message: the next one mends it */ }
    });
    source.onerror = function () { if (source.readyState === EventSource.CLOSED) { poll(); } };
    // A proxy that holds events back: nothing arrives, so poll instead.
    window.setTimeout(function () { if (!heard) { source.close(); poll(); } }, 6000);
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-live")) { return; }
    e.preventDefault();
    var body = new URLSearchParams(new FormData(form));
    if (e.submitter && e.submitter.name) { body.append(e.submitter.name, e.submitter.value); }
    fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (res) {
        if (res.ok) { apply(res.data, true); return; }
        if (problem) { problem.textContent = res.data.error || "That did not work. Try again."; problem.hidden = false; problem.focus && problem.setAttribute("tabindex", "-1"); }
      })
      .catch(function () {
        if (problem) { problem.textContent = "The room could not be reached. Check your connection and try again."; problem.hidden = false; }
      });
  });

  listen();
}());
