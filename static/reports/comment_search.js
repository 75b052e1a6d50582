// The report page's comment table: typing in its search box hides the rows that do not contain every word typed.
(function () {
  "use strict";
  document.querySelectorAll("input[data-comment-search]").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-comment-search"));
    if (!table) {
      return;
    }
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      rows.forEach(function (row, index) {
        row.hidden = !words.every(function (word) { return texts[index].indexOf(word) !== -1; });
      });
    });
  });
})();
