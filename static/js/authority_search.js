// Suggestions for the "Demander un accès" search field: fills the <datalist> named by the
// field's list attribute from the JSON at its data-suggestions-url. The page works without
// it: the search button lists the same authorities.
(function () {
  "use strict";

  var DELAY_MS = 200;
  var MIN_LENGTH = 2;

  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.dataset.suggestionsUrl;
    if (!list || !url) {
      return;
    }
    var timer = null;
    var controller = null;
    var lastQuery = "";

    function fill(results) {
      list.replaceChildren();
      results.forEach(function (result) {
        var option = document.createElement("option");
        option.value = result.value;
        option.label = result.label;
        list.appendChild(option);
      });
    }

    function fetchSuggestions() {
      var query = input.value.trim();
      if (query === lastQuery) {
        return;
      }
      lastQuery = query;
      if (query.length < MIN_LENGTH) {
        fill([]);
        return;
      }
      if (controller) {
        controller.abort();
      }
      controller = new AbortController();
      fetch(url + "?" + new URLSearchParams({ q: query }), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      })
        .then(function (response) {
          return response.ok ? response.json() : { results: [] };
        })
        .then(function (data) {
          fill(data.results || []);
        })
        .catch(function () {
          // Aborted by a newer keystroke, or offline: the search button still works.
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fetchSuggestions, DELAY_MS);
    });
  }

  document.querySelectorAll("input[data-suggestions-url][list]").forEach(attach);
})();
