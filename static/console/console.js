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

  // ---- live regions: <section data-live-url="..."> polled with If-None-Match -------------
  // The server answers 304 while nothing changed, so idle pages cost one cheap query.
  var liveTicks = [];

  function startLive(region) {
    var url = region.getAttribute("data-live-url");
    var interval = parseInt(region.getAttribute("data-live-interval") || "5000", 10);
    var etag = region.getAttribute("data-etag") || "";
    var note = document.querySelector("[data-live-note]");
    var busy = false;

    function tick() {
      if (busy || document.hidden) { return; }
      // Never swap the content under someone who is filling in a form inside it.
      if (region.contains(document.activeElement) && document.activeElement !== document.body &&
          /^(SELECT|INPUT|TEXTAREA)$/.test(document.activeElement.tagName)) { return; }
      busy = true;
      var headers = { "X-Requested-With": "fetch" };
      if (etag) { headers["If-None-Match"] = etag; }
      fetch(url, { headers: headers, credentials: "same-origin", cache: "no-cache" })
        .then(function (response) {
          if (response.status === 304) { return null; }
          // Signed out meanwhile (the fragment redirected to the sign-in page): reload, so the
          // person lands on sign-in instead of seeing it inside the board.
          if (response.redirected) { window.location.reload(); return null; }
          if (!response.ok) { throw new Error("live refresh answered " + response.status); }
          etag = response.headers.get("ETag") || "";
          return response.text();
        })
        .then(function (html) {
          if (html !== null) {
            // Focus on a link or button of the region (a card, say) stays on its new copy.
            var focused = region.contains(document.activeElement) ? document.activeElement : null;
            var focusId = focused && focused.id;
            var focusHref = focused && focused.getAttribute("href");
            region.innerHTML = html;
            if (focusId && document.getElementById(focusId)) {
              document.getElementById(focusId).focus();
            } else if (focusHref) {
              var again = region.querySelectorAll("a[href]");
              for (var f = 0; f < again.length; f++) {
                if (again[f].getAttribute("href") === focusHref) { again[f].focus(); break; }
              }
            }
            refreshTimes(region);
            // New cards carry hx-get (the task drawer): htmx only sees what it is shown.
            if (window.htmx) { window.htmx.process(region); }
          }
          if (note) { note.removeAttribute("data-state"); }
        })
        .catch(function () {
          if (note) { note.setAttribute("data-state", "paused"); }
        })
        .then(function () { busy = false; });
    }
    setInterval(tick, interval);
    liveTicks.push(tick);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { tick(); } });
  }

  var regions = document.querySelectorAll("[data-live-url]");
  for (var i = 0; i < regions.length; i++) { startLive(regions[i]); }
  // A change made in the task drawer (its answer's HX-Trigger): refresh the board now.
  document.addEventListener("mc-task-changed", function () {
    for (var t = 0; t < liveTicks.length; t++) { liveTicks[t](); }
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
