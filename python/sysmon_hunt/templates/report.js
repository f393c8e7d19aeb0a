
// Optional: sorting and filtering of the hits table, and a click on a host
// in the timeline filters it. The page reads the same without it. Values are
// only ever read and written as text (textContent), never as markup.
(function () {
  "use strict";
  var table = document.getElementById("hits");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
  var heads = table.tHead.rows[0].cells;
  var filter = document.getElementById("hits-filter");
  var status = document.getElementById("hits-status");
  var sorted = { column: -1, descending: false };

  function cellText(row, column) { return row.cells[column].textContent; }

  function showStatus(shown) {
    status.textContent = shown === rows.length ? rows.length + " rows"
      : shown + " of " + rows.length + " rows match";
  }

  function sortBy(column) {
    var numeric = heads[column].classList.contains("num");
    var descending = sorted.column === column ? !sorted.descending : numeric;
    var keyed = rows.map(function (row, index) {
      var text = cellText(row, column);
      return { row: row, index: index, key: numeric ? Number(text) : text };
    });
    keyed.sort(function (a, b) {
      var order = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      return (descending ? -order : order) || a.index - b.index;
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (item) { fragment.appendChild(item.row); });
    body.appendChild(fragment);
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    heads[column].setAttribute("aria-sort", descending ? "descending" : "ascending");
    sorted = { column: column, descending: descending };
  }

  function applyFilter() {
    var needle = filter.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row, index) {
      var match = !needle || texts[index].indexOf(needle) !== -1;
      row.hidden = !match;
      if (match) { shown++; }
    });
    showStatus(shown);
  }

  Array.prototype.forEach.call(heads, function (head, column) {
    var button = document.createElement("button");
    button.type = "button";
    button.title = "sort by " + head.textContent;
    button.textContent = head.textContent;
    head.textContent = "";
    head.appendChild(button);
    button.addEventListener("click", function () { sortBy(column); });
  });
  filter.addEventListener("input", applyFilter);

  var timeline = document.getElementById("timeline");
  if (timeline && document.getElementById("hits-section")) {
    var lanes = timeline.querySelectorAll("g.lane[data-host]");
    if (lanes.length && lanes[0].getAttribute("data-host") !== "") {
      timeline.classList.add("interactive");
      Array.prototype.forEach.call(lanes, function (lane) {
        lane.querySelector("text.host").addEventListener("click", function () {
          filter.value = filter.value === lane.getAttribute("data-host") ? "" : lane.getAttribute("data-host");
          applyFilter();
          table.scrollIntoView();
        });
      });
    }
  }

  document.getElementById("hits-tools").hidden = false;
  showStatus(rows.length);
}());
