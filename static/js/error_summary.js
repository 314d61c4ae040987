// A form that failed: the keyboard and screen reader start on the list of its errors.
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
})();
