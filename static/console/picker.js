// Searchable pickers: a <fieldset data-picker> holding a list of checkboxes (a task's
// dependencies or tags, agents/_pick_list.html) gets a text box above the list that filters
// it by name as one types, a line saying how many match, and a line naming the chosen (ticked) ones,
// which stay chosen when the filter hides them. Keys: Down (or Enter) in the box goes to the
// first match; Up and Down move between the shown checkboxes (Up from the first goes back to
// the box); Space ticks; Escape in a box with text empties it (else it closes the drawer as
// usual). Without this script the list is a plain list of checkboxes that posts the same form.
(function () {
  "use strict";

  var counter = 0;

  function attach(picker) {
    var list = picker.querySelector("[data-picker-list]");
    if (!list) { return; }
    var items = Array.prototype.slice.call(list.querySelectorAll("li[data-picker-name]"));
    var from = parseInt(picker.getAttribute("data-picker-from") || "0", 10);
    if (!items.length || items.length < from) { return; }
    var base = (list.id || "picker") + "-find-" + (++counter);

    var label = document.createElement("label");
    label.htmlFor = base;
    label.className = "pick-find-label";
    label.textContent = picker.getAttribute("data-picker-label") || "Find";
    var box = document.createElement("input");
    box.type = "search";
    box.id = base;
    box.autocomplete = "off";
    box.spellcheck = false;
    box.setAttribute("aria-controls", list.id);
    var count = document.createElement("p");
    count.id = base + "-count";
    count.className = "pick-count small muted";
    count.setAttribute("aria-live", "polite");
    var chosen = document.createElement("p");
    chosen.id = base + "-chosen";
    chosen.className = "pick-chosen small";
    box.setAttribute("aria-describedby", chosen.id + " " + count.id);
    var find = document.createElement("div");
    find.className = "pick-find";
    find.appendChild(label);
    find.appendChild(box);
    find.appendChild(chosen);
    find.appendChild(count);
    list.parentNode.insertBefore(find, list);

    function boxOf(item) { return item.querySelector("input[type=checkbox]"); }
    function shown() {
      return items.filter(function (item) { return !item.hidden; }).map(boxOf);
    }

    function sayChosen() {
      var names = items.filter(function (item) { return boxOf(item).checked; })
        .map(function (item) { return item.getAttribute("data-picker-name"); });
      chosen.textContent = names.length ? "Chosen: " + names.join(", ") + "." : "None chosen.";
    }

    function filter() {
      var text = box.value.trim().toLowerCase();
      var matches = 0;
      items.forEach(function (item) {
        var match = !text || item.getAttribute("data-picker-name").toLowerCase().indexOf(text) !== -1;
        item.hidden = !match;
        if (match) { matches++; }
      });
      if (!text) {
        count.textContent = "";
      } else if (matches) {
        count.textContent = matches + " of " + items.length + " shown.";
      } else {
        count.textContent = "None matches “" + box.value.trim() + "”.";
      }
    }

    box.addEventListener("input", filter);
    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "Enter") {
        // Enter here would send the form: it means "go to the matches" instead.
        event.preventDefault();
        var first = shown()[0];
        if (first) { first.focus(); }
      } else if (event.key === "Escape" && box.value) {
        event.preventDefault();
        event.stopPropagation();
        box.value = "";
        filter();
      }
    });
    list.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") { return; }
      var visible = shown();
      var at = visible.indexOf(event.target);
      if (at === -1) { return; }
      event.preventDefault();
      if (event.key === "ArrowDown" && at < visible.length - 1) {
        visible[at + 1].focus();
      } else if (event.key === "ArrowUp") {
        (at > 0 ? visible[at - 1] : box).focus();
      }
    });
    list.addEventListener("change", sayChosen);
    sayChosen();
  }

  // ``root``: the page, or content htmx swapped in (the task drawer); each picker once.
  function start(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var pickers = Array.prototype.slice.call(scope.querySelectorAll("[data-picker]"));
    if (scope.matches && scope.matches("[data-picker]")) { pickers.push(scope); }
    pickers.forEach(function (picker) {
      if (picker.hasAttribute("data-picker-ready")) { return; }
      picker.setAttribute("data-picker-ready", "");
      attach(picker);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { start(document); });
  } else {
    start(document);
  }
  document.addEventListener("htmx:load", function (event) { start(event.target); });
})();
