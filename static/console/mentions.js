// @mention suggestions in the console's text boxes. A form with data-mention-names (a JSON
// list of the names its text may mention) gets, in each of its textareas, a list of the
// names that start with what follows the "@" being typed: arrow keys move, Enter or Tab
// takes one, Escape closes. Without this script the text box is a plain text box, and the
// server links the mentions it finds all the same.
(function () {
  "use strict";

  var MAX_SHOWN = 8;
  var counter = 0;

  // The "@fragment" just before the caret, or null: "@" at the start or after a space.
  function fragmentAt(area) {
    var before = area.value.slice(0, area.selectionStart);
    var match = /(^|[\s(])@([\w.-]*(?: [\w.-]*){0,3})$/.exec(before);
    return match ? { start: before.length - match[2].length - 1, text: match[2] } : null;
  }

  function attach(area, names) {
    var list = document.createElement("ul");
    var id = "mention-list-" + (++counter);
    list.id = id;
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "People and agents to mention");
    list.hidden = true;
    area.insertAdjacentElement("afterend", list);
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-controls", id);
    var shown = [];
    var active = -1;
    var fragment = null;

    function close() {
      list.hidden = true;
      list.textContent = "";
      shown = [];
      active = -1;
      area.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (item, n) {
        item.setAttribute("aria-selected", n === index ? "true" : "false");
      });
      if (index >= 0) {
        area.setAttribute("aria-activedescendant", id + "-" + index);
      } else {
        area.removeAttribute("aria-activedescendant");
      }
    }

    function take(name) {
      if (!fragment) { return; }
      var end = fragment.start + 1 + fragment.text.length;
      var text = "@" + name + " ";
      area.value = area.value.slice(0, fragment.start) + text + area.value.slice(end);
      var caret = fragment.start + text.length;
      area.setSelectionRange(caret, caret);
      close();
      area.focus();
    }

    function update() {
      fragment = fragmentAt(area);
      if (!fragment) { close(); return; }
      var typed = fragment.text.toLowerCase();
      shown = names.filter(function (name) {
        var lowered = name.toLowerCase();
        return lowered.indexOf(typed) === 0 && lowered !== typed;
      }).slice(0, MAX_SHOWN);
      if (!shown.length) { close(); return; }
      list.textContent = "";
      shown.forEach(function (name, n) {
        var item = document.createElement("li");
        item.id = id + "-" + n;
        item.setAttribute("role", "option");
        item.textContent = "@" + name;
        // mousedown, not click: the text box keeps its focus and its caret.
        item.addEventListener("mousedown", function (event) { event.preventDefault(); take(name); });
        list.appendChild(item);
      });
      list.hidden = false;
      highlight(0);
    }

    area.addEventListener("input", update);
    area.addEventListener("blur", close);
    area.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + shown.length) % shown.length);
      } else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        event.preventDefault();
        take(shown[active]);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
  }

  // ``root``: the page, or content htmx swapped in (the task drawer); each box once.
  function start(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var forms = Array.prototype.slice.call(scope.querySelectorAll("form[data-mention-names]"));
    if (scope.matches && scope.matches("form[data-mention-names]")) { forms.push(scope); }
    forms.forEach(function (form) {
      var names;
      try {
        names = JSON.parse(form.getAttribute("data-mention-names"));
      } catch (error) {
        return;
      }
      if (!Array.isArray(names) || !names.length) { return; }
      Array.prototype.forEach.call(form.querySelectorAll("textarea"), function (area) {
        if (area.hasAttribute("data-mentions-ready")) { return; }
        area.setAttribute("data-mentions-ready", "");
        attach(area, names);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { start(document); });
  } else {
    start(document);
  }
  document.addEventListener("htmx:load", function (event) { start(event.target); });
})();
