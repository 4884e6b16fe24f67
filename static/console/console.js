// Mission Control console: small progressive enhancements. Every page works without it.
// Loaded as an external file because the Content-Security-Policy forbids inline script.
(function () {
  "use strict";

  // ---- copy buttons: <button data-copy="element-id"> copies that element's text ----------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var label = button.textContent;
    copyText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1600);
    }, function () {
      button.textContent = "Select and copy";
    });
  });

  // ---- confirmations: <form data-confirm="Question?"> ------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // ---- relative times: <time datetime> text kept fresh; the exact time is in title -----
  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
               ["hour", 3600], ["minute", 60]];

  function relative(date) {
    var seconds = Math.round((Date.now() - date.getTime()) / 1000);
    var future = seconds < 0;
    var abs = Math.abs(seconds);
    if (abs < 45) { return future ? "in a moment" : "just now"; }
    for (var i = 0; i < UNITS.length; i++) {
      var count = Math.floor(abs / UNITS[i][1]);
      if (count >= 1) {
        var phrase = count + " " + UNITS[i][0] + (count === 1 ? "" : "s");
        return future ? "in " + phrase : phrase + " ago";
      }
    }
    return future ? "in a minute" : "1 minute ago";
  }

  function refreshTimes(root) {
    var nodes = (root || document).querySelectorAll("time[data-relative]");
    for (var i = 0; i < nodes.length; i++) {
      var date = new Date(nodes[i].getAttribute("datetime"));
      if (!isNaN(date.getTime())) { nodes[i].textContent = relative(date); }
    }
  }
  refreshTimes(document);
  setInterval(function () { refreshTimes(document); }, 30000);

  // ---- live regions: <section data-live-url="..." data-live-ticket="..."> -----------------
  // Every POLL ms the page asks /live/changes whether anything in its scopes changed (a signed
  // ticket names them; the server answers 204 from one SELECT, before any session work). Only
  // when something did, or every FULL ms anyway, does it ask its fragment with If-None-Match:
  // 304 while what it shows is the same. Each fragment answer carries the next ticket.
  var liveRegions = [];

  function typingIn(root) {
    var active = document.activeElement;
    return !!active && active !== document.body && root.contains(active) &&
      /^(SELECT|INPUT|TEXTAREA)$/.test(active.tagName);
  }

  function edited(root) {
    // A field whose value differs from what the server sent: someone is filling it in.
    var fields = root.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "hidden" || field.type === "submit" || field.type === "button") { continue; }
      if (field.tagName === "SELECT") {
        for (var o = 0; o < field.options.length; o++) {
          if (field.options[o].selected !== field.options[o].defaultSelected) { return true; }
        }
      } else if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) { return true; }
      } else if (field.value !== field.defaultValue) { return true; }
    }
    return false;
  }

  function settle(root) {
    refreshTimes(root);
    // New cards carry hx-get (the task drawer): htmx only sees what it is shown.
    if (window.htmx) { window.htmx.process(root); }
  }

  // Replace the region's content; returns false when part of it was left alone because
  // someone is typing there (the region asks again later).
  function swapRegion(region, html) {
    if (region.hasAttribute("data-live-parts")) {
      var incoming = document.createElement("template");
      incoming.innerHTML = html;
      var complete = true;
      var parts = incoming.content.querySelectorAll("[data-live-part]");
      for (var p = 0; p < parts.length; p++) {
        var name = parts[p].getAttribute("data-live-part");
        var old = region.querySelector('[data-live-part="' + name + '"]');
        if (!old) { continue; }
        if (typingIn(old) || edited(old)) { complete = false; continue; }
        var fresh = document.importNode(parts[p], true);
        // What the person opened or closed stays so.
        var wasOpen = old.querySelectorAll("details");
        var nowOpen = fresh.querySelectorAll("details");
        for (var d = 0; d < wasOpen.length && d < nowOpen.length; d++) { nowOpen[d].open = wasOpen[d].open; }
        var focused = old.contains(document.activeElement) ? document.activeElement : null;
        old.replaceWith(fresh);
        if (focused) { refocus(fresh, focused); }
        settle(fresh);
      }
      return complete;
    }
    var focused = region.contains(document.activeElement) ? document.activeElement : null;
    region.innerHTML = html;
    if (focused) { refocus(region, focused); }
    settle(region);
    return true;
  }

  // Focus on a link or button that was replaced (a card, say) moves to its new copy: the
  // element with the same id, else the link with the same address.
  function refocus(root, focused) {
    var focusId = focused.id;
    var focusHref = focused.getAttribute("href");
    if (focusId && document.getElementById(focusId)) {
      document.getElementById(focusId).focus();
    } else if (focusHref) {
      var again = root.querySelectorAll("a[href]");
      for (var f = 0; f < again.length; f++) {
        if (again[f].getAttribute("href") === focusHref) { again[f].focus(); break; }
      }
    }
  }

  // A page's regions (the board and the drawer over it, say) take turns: one live request at
  // a time from a page, however many regions it has.
  var liveQueue = [];
  var liveRunning = false;
  function liveTurn(job) {
    liveQueue.push(job);
    if (!liveRunning) { nextTurn(); }
  }
  function nextTurn() {
    var job = liveQueue.shift();
    liveRunning = !!job;
    if (job) { job(nextTurn); }
  }
  // A live request that hangs would hold the turn of every region: it gives up after 15 s.
  function liveFetch(address, options) {
    if (!window.AbortController) { return fetch(address, options); }
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, 15000);
    options.signal = controller.signal;
    return fetch(address, options).then(function (response) {
      clearTimeout(timer);
      return response;
    }, function (error) {
      clearTimeout(timer);
      throw error;
    });
  }

  function startLive(region) {
    var url = region.getAttribute("data-live-url");
    var poll = parseInt(region.getAttribute("data-live-interval") || "1500", 10);
    var full = parseInt(region.getAttribute("data-live-full-interval") || "120000", 10);
    var live = { region: region, etag: region.getAttribute("data-etag") || "",
                 ticket: region.getAttribute("data-live-ticket") || "", version: null,
                 lastFull: Date.now(), stale: false, busy: false };
    var note = document.querySelector("[data-live-note]");

    function paused(on) {
      if (!note) { return; }
      if (on) { note.setAttribute("data-state", "paused"); } else { note.removeAttribute("data-state"); }
    }

    function check() {
      // Never swap the content under someone who is filling in a form inside it.
      if (!region.hasAttribute("data-live-parts") && typingIn(region)) { live.stale = true; return; }
      live.busy = true;
      liveTurn(function (done) { fragment(done); });
    }

    function fragment(done) {
      if (!document.contains(region)) { live.busy = false; done(); return; }
      live.lastFull = Date.now();
      var headers = { "X-Requested-With": "fetch" };
      if (live.etag) { headers["If-None-Match"] = live.etag; }
      liveFetch(url, { headers: headers, credentials: "same-origin", cache: "no-cache" })
        .then(function (response) {
          live.ticket = response.headers.get("X-Live-Ticket") || live.ticket;
          if (response.status === 304) { live.stale = false; return null; }
          // Signed out meanwhile (the fragment redirected to the sign-in page): reload, so the
          // person lands on sign-in instead of seeing it inside the board.
          if (response.redirected) { window.location.reload(); return null; }
          if (!response.ok) { throw new Error("live refresh answered " + response.status); }
          var etag = response.headers.get("ETag") || "";
          return response.text().then(function (html) {
            if (swapRegion(region, html)) { live.etag = etag; live.stale = false; } else { live.stale = true; }
          });
        })
        .then(function () { paused(false); })
        .catch(function () { paused(true); })
        .then(function () { live.busy = false; done(); });
    }

    function ask() {
      live.busy = true;
      liveTurn(question);
    }

    function question(done) {
      if (!document.contains(region)) { live.busy = false; done(); return; }
      var address = "/live/changes?t=" + encodeURIComponent(live.ticket) +
        (live.version !== null ? "&v=" + encodeURIComponent(live.version) : "");
      liveFetch(address, { credentials: "omit", cache: "no-store" })
        .then(function (response) {
          if (response.status === 204) { return null; }
          if (response.status === 410) { return "expired"; }
          if (!response.ok) { throw new Error("change question answered " + response.status); }
          return response.text();
        })
        .then(function (answer) {
          live.busy = false;
          done();
          paused(false);
          if (answer === null) { return; }
          if (answer !== "expired") { live.version = answer; }
          check();
        })
        .catch(function () { live.busy = false; done(); paused(true); });
    }

    function tick() {
      // A region htmx replaced (a task drawer closed or opened on another task) stops asking.
      if (!document.contains(region)) {
        clearInterval(timer);
        liveRegions.splice(liveRegions.indexOf(live), 1);
        return;
      }
      if (live.busy || document.hidden) { return; }
      if (!live.ticket || live.stale || Date.now() - live.lastFull >= full) { check(); } else { ask(); }
    }
    live.now = function () { live.stale = true; if (!live.busy) { check(); } };
    var timer = setInterval(tick, poll);
    region.setAttribute("data-live-started", "");
    liveRegions.push(live);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { tick(); } });
  }

  function startAll(root) {
    var regions = root.querySelectorAll("[data-live-url]:not([data-live-started])");
    for (var i = 0; i < regions.length; i++) { startLive(regions[i]); }
  }
  startAll(document);
  // Content htmx brings in (the task drawer) may hold a live region of its own.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.querySelectorAll) { return; }
    if (elt.matches("[data-live-url]:not([data-live-started])")) { startLive(elt); }
    startAll(elt);
  });
  // A change made in the task drawer (its answer's HX-Trigger): refresh the board now.
  document.addEventListener("mc-task-changed", function () {
    for (var t = 0; t < liveRegions.length; t++) { liveRegions[t].now(); }
  });

  // ---- task drawer: with htmx, a board card opens its task in a <dialog> -----------------
  // The card's link has hx-get and hx-push-url, so the address is the task's page (a deep
  // link opens the full page). Escape or Close closes the drawer, puts the board's address
  // back and returns focus to the card. Without htmx the link opens the page as before.
  var drawer = document.getElementById("task-drawer");
  if (drawer && window.htmx && typeof drawer.showModal === "function") {
    var drawerBody = document.getElementById("task-drawer-body");
    var opener = null;

    document.addEventListener("htmx:beforeRequest", function (event) {
      var elt = event.detail.elt;
      if (elt && elt.matches && elt.matches("a[data-drawer-opener]")) { opener = elt.getAttribute("href"); }
    });
    document.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target === drawerBody && !drawer.open) {
        drawer.showModal();
        refreshTimes(drawer);
      }
    });
    // After a save, htmx focuses the new copy of the control that sent the form. Where there is
    // none (the ask-for-approval form goes once a request waits), the saved section's heading
    // takes the focus, so it stays in the dialog where the person was.
    document.addEventListener("htmx:afterSettle", function (event) {
      if (event.detail.target !== drawerBody || !drawer.open) { return; }
      var active = document.activeElement;
      if (active && active !== document.body && active !== drawer && drawer.contains(active)) { return; }
      var saved = drawerBody.querySelector("[data-drawer-saved]");
      if (saved) { saved.focus(); }
    });
    // Signed out meanwhile: the request was redirected (to the sign-in page). Go there
    // instead of showing that page inside the drawer.
    document.addEventListener("htmx:beforeSwap", function (event) {
      var xhr = event.detail.xhr;
      var config = event.detail.requestConfig;
      if (!xhr || !xhr.responseURL || !config) { return; }
      var asked = new URL(config.path, window.location.href).pathname;
      if (new URL(xhr.responseURL).pathname !== asked) {
        event.detail.shouldSwap = false;
        window.location.assign(xhr.responseURL);
      }
    });
    drawer.addEventListener("click", function (event) {
      if (event.target.closest("[data-drawer-close]")) { drawer.close(); }
    });
    drawer.addEventListener("close", function () {
      var boardUrl = drawer.getAttribute("data-board-url");
      if (boardUrl && window.location.pathname !== boardUrl) {
        window.history.replaceState(window.history.state, "", boardUrl);
      }
      drawerBody.innerHTML = "";
      var notice = document.getElementById("task-drawer-notice");
      if (notice) { notice.innerHTML = ""; }
      var alertRegion = document.getElementById("task-drawer-alert");
      if (alertRegion) { alertRegion.innerHTML = ""; }
      // The board may have refreshed meanwhile: find the card's link again by its address.
      var links = document.querySelectorAll("a[data-drawer-opener]");
      for (var k = 0; k < links.length; k++) {
        if (links[k].getAttribute("href") === opener) { links[k].focus(); break; }
      }
    });
    // Back while the drawer is open: the address is the board's again, so close it.
    window.addEventListener("popstate", function () {
      if (drawer.open) { drawer.close(); }
    });
  }

  // ---- in-place edits: a menu in <form data-autosave> sends its form when it changes -------
  // The form has hx-post (the drawer), so htmx sends it and swaps the answer in; focus stays
  // on the menu because the answer has a control with the same id.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (window.htmx && target.matches && target.matches("select") && target.form &&
        target.form.hasAttribute("data-autosave")) {
      target.form.requestSubmit();
    }
  });

  // ---- kanban drag and drop: dropping a card on a column submits the card's move form ------
  // The select and button on each card stay the keyboard (and no-script) way to move it.
  var dragged = null;
  document.addEventListener("mousedown", function (event) {
    var card = event.target.closest(".task-card");
    if (card && card.querySelector("form") && !event.target.closest("select, button, a")) {
      card.setAttribute("draggable", "true");
    }
  });
  document.addEventListener("dragstart", function (event) {
    dragged = event.target.closest && event.target.closest(".task-card");
    if (dragged) {
      dragged.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", "");
    }
  });
  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("is-dragging"); dragged = null; }
    var targets = document.querySelectorAll(".column.is-drop-target");
    for (var i = 0; i < targets.length; i++) { targets[i].classList.remove("is-drop-target"); }
  });
  document.addEventListener("dragover", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".column[data-status]");
    if (column) {
      event.preventDefault();
      column.classList.add("is-drop-target");
    }
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".column[data-status]");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("is-drop-target"); }
  });
  document.addEventListener("drop", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".column[data-status]");
    if (!column) { return; }
    event.preventDefault();
    var form = dragged.querySelector("form");
    var select = form && form.querySelector("select[name=status]");
    var status = column.getAttribute("data-status");
    var home = dragged.closest(".column[data-status]");
    if (home && home.getAttribute("data-status") === status) { return; }
    if (!select || !select.querySelector('option[value="' + status + '"]')) { return; }
    select.value = status;
    form.requestSubmit();
  });

  // ---- auto-submit filters: <select data-autosubmit> submits its form on change -----------
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-autosubmit]") && event.target.form) {
      event.target.form.requestSubmit();
    }
  });
})();
