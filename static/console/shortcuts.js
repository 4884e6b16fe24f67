// Mission Control console: keyboard shortcuts and ordering a column by dragging a card.
// Every shortcut is a way to reach a control the page already has (a field, a menu, the
// card's link, the up and down buttons), and every change goes through the form or route
// that control uses, so the same rules answer. The list is templates/console/_shortcuts.html.
(function () {
  "use strict";

  var overlay = document.getElementById("shortcuts");
  var openers = document.querySelectorAll("[data-shortcuts-open]");
  var returnTo = null;

  function typing(target) {
    if (!target || !target.closest) { return false; }
    return Boolean(target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])"));
  }

  // ---- the list of shortcuts: a modal <dialog>, opened by "?" or the sidebar's button ----
  function openOverlay() {
    if (!overlay || typeof overlay.showModal !== "function" || overlay.open) { return; }
    returnTo = document.activeElement;
    overlay.showModal();
  }

  if (overlay && typeof overlay.showModal === "function") {
    for (var o = 0; o < openers.length; o++) {
      openers[o].hidden = false;
      openers[o].addEventListener("click", openOverlay);
    }
    overlay.addEventListener("click", function (event) {
      if (event.target.closest("[data-shortcuts-close]")) { overlay.close(); }
    });
    overlay.addEventListener("close", function () {
      if (returnTo && document.contains(returnTo) && typeof returnTo.focus === "function") { returnTo.focus(); }
      returnTo = null;
    });
  }

  // ---- where the keys act: an open task (the drawer, or the task's page) and the board ----
  function openDrawer() {
    var drawer = document.getElementById("task-drawer");
    return drawer && drawer.open ? drawer : null;
  }

  function taskForm() {
    var drawer = openDrawer();
    var scope = drawer || (document.getElementById("task-drawer") ? null : document.getElementById("content"));
    var form = scope ? scope.querySelector('form[action$="/edit"]') : null;
    return form && form.elements.status && form.elements.assigned_agent ? form : null;
  }

  function cardLinks() {
    return Array.prototype.slice.call(document.querySelectorAll(".kanban .task-card h3 a"));
  }

  function focusField(field) {
    if (!field) { return false; }
    var folded = field.closest("details");
    if (folded) { folded.open = true; }
    field.focus();
    if (typeof field.select === "function" && field.tagName === "INPUT") { field.select(); }
    return true;
  }

  // The status after or before the task's own (data-task-status: after a refused move the
  // menu still shows what was asked), sent as the menu itself sends it: in the drawer the
  // menu's change saves the form (console.js), on the page the form posts.
  function stepStatus(form, step) {
    var menu = form.elements.status;
    if (!menu) { return false; }
    var now = form.getAttribute("data-task-status");
    var from = menu.selectedIndex;
    for (var i = 0; i < menu.options.length; i++) {
      if (menu.options[i].value === now) { from = i; }
    }
    var index = from + step;
    if (index < 0 || index >= menu.options.length) { return true; }
    menu.selectedIndex = index;
    if (form.hasAttribute("data-autosave")) {
      // htmx takes a swapped-in form over a moment after the swap; a key can come sooner.
      if (window.htmx) { window.htmx.process(form); }
      menu.dispatchEvent(new Event("change", { bubbles: true }));
    } else {
      form.requestSubmit();
    }
    return true;
  }

  function taskKey(event, form) {
    switch (event.key) {
      case "]": return stepStatus(form, 1);
      case "[": return stepStatus(form, -1);
      case "a": return focusField(form.elements.assigned_agent);
      case "e": return focusField(form.elements.title);
      default: return false;
    }
  }

  function moveFocus(step) {
    var links = cardLinks();
    if (!links.length) { return false; }
    var card = document.activeElement && document.activeElement.closest && document.activeElement.closest(".task-card");
    var current = card ? links.indexOf(card.querySelector("h3 a")) : -1;
    var next = current < 0 ? (step > 0 ? 0 : links.length - 1) : current + step;
    if (next < 0 || next >= links.length) { return true; }
    links[next].focus();
    links[next].closest(".task-card").scrollIntoView({ block: "nearest" });
    return true;
  }

  function boardKey(event) {
    switch (event.key) {
      case "/": return focusField(document.getElementById("filter-q"));
      case "n": {
        var create = document.querySelector("[data-new-task]");
        if (!create) { return false; }
        create.open = true;
        return focusField(create.querySelector('input[name="title"]'));
      }
      case "j": return moveFocus(1);
      case "k": return moveFocus(-1);
      default: return false;
    }
  }

  // ---- ordering a column: Alt+Up/Down on a card, or a card dropped within its column -------
  var notice = document.getElementById("board-notice");

  function say(text) {
    if (notice) { notice.textContent = text; }
  }

  // Sends the card's reorder form (its address and CSRF token) with what was asked, and
  // refreshes the board as a change made in the drawer does.
  function reorder(card, field, value) {
    var form = card.querySelector("form.reorder");
    if (!form) { return; }
    var body = new FormData(form);
    body.set(field, value);
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                         headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (response.redirected) { window.location.assign(response.url); return null; }
        return response.text().then(function (text) { say(text || "The card could not be moved."); });
      }, function () { say("The card could not be moved: the server did not answer."); })
      .then(function () { document.dispatchEvent(new CustomEvent("mc-task-changed")); });
  }

  function orderKey(event) {
    var direction = event.key === "ArrowUp" ? "up" : event.key === "ArrowDown" ? "down" : null;
    var card = direction && document.activeElement && document.activeElement.closest &&
      document.activeElement.closest(".kanban .task-card");
    if (!card) { return false; }
    var link = card.querySelector("h3 a");
    // No reorder form: a filtered board (part of a column) or a card alone in its column.
    if (!card.querySelector("form.reorder")) { return false; }
    if (!card.querySelector('form.reorder button[value="' + direction + '"]')) {
      say("“" + link.textContent + "” is already " + (direction === "up" ? "first" : "last") + " in its column.");
      return true;
    }
    // Focus on the card's link: the board's refresh puts it back on the card's new copy.
    link.focus();
    reorder(card, "direction", direction);
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || typing(event.target)) {
      return;
    }
    if (overlay && overlay.open) {
      if (event.key === "?" && !event.altKey) { event.preventDefault(); overlay.close(); }
      return;  // the list is modal: no other key acts behind it
    }
    var handled = false;
    if (event.altKey) {
      handled = !openDrawer() && orderKey(event);
    } else if (event.key === "?") {
      openOverlay();
      handled = true;
    } else {
      var form = taskForm();
      if (form) {
        handled = taskKey(event, form);
      } else if (!openDrawer()) {
        handled = boardKey(event);
      }
    }
    if (handled) { event.preventDefault(); }
  });

  // A card dragged within its own column (console.js moves one dropped on another column):
  // the card goes where it is dropped, between the two cards around the pointer.
  var dragged = null;
  var marked = null;

  function unmark() {
    if (marked) { marked.classList.remove("drop-before", "drop-after"); marked = null; }
  }

  // Where the card would go: its new place in the column, and the card to mark beside it.
  function dropPlace(column, y) {
    var others = Array.prototype.filter.call(column.querySelectorAll("ol > .task-card"), function (card) {
      return card !== dragged;
    });
    var place = 0;
    for (var i = 0; i < others.length; i++) {
      var box = others[i].getBoundingClientRect();
      if (y > box.top + box.height / 2) { place = i + 1; }
    }
    if (!others.length) { return null; }
    return place < others.length ? { place: place, card: others[place], side: "drop-before" }
      : { place: place, card: others[others.length - 1], side: "drop-after" };
  }

  function ownColumn(event) {
    if (!dragged || !dragged.querySelector("form.reorder")) { return null; }
    var column = event.target.closest && event.target.closest(".column[data-status]");
    return column && column === dragged.closest(".column[data-status]") ? column : null;
  }

  document.addEventListener("dragstart", function (event) {
    dragged = event.target.closest ? event.target.closest(".kanban .task-card") : null;
  });
  document.addEventListener("dragend", function () { unmark(); dragged = null; });
  document.addEventListener("dragover", function (event) {
    var column = ownColumn(event);
    if (!column) { unmark(); return; }
    event.preventDefault();
    // The column's outline says "moves to this column"; within its own, a line says where.
    column.classList.remove("is-drop-target");
    var spot = dropPlace(column, event.clientY);
    if (!spot || (marked === spot.card && marked.classList.contains(spot.side))) { return; }
    unmark();
    marked = spot.card;
    marked.classList.add(spot.side);
  });
  document.addEventListener("drop", function (event) {
    var column = ownColumn(event);
    if (!column) { return; }
    event.preventDefault();
    var spot = dropPlace(column, event.clientY);
    var card = dragged;
    unmark();
    var cards = Array.prototype.slice.call(column.querySelectorAll("ol > .task-card"));
    if (!spot || spot.place === cards.indexOf(card)) { return; }
    card.querySelector("h3 a").focus();
    reorder(card, "position", String(spot.place));
  });
})();
