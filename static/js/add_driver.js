// « Ajouter un conducteur » on the ADS form: adds an empty driver row in place, from the
// formset's empty form in the <template> the button names, and moves the focus to it.
// The page works without it: the button then submits the form, which comes back with
// one more row and nothing saved.
(function () {
  "use strict";

  function attach(button) {
    var template = document.getElementById(button.dataset.addDriver);
    var form = button.form;
    var prefix = button.dataset.prefix;
    var total = form && form.elements.namedItem(prefix + "-TOTAL_FORMS");
    var max = form && form.elements.namedItem(prefix + "-MAX_NUM_FORMS");
    if (!template || !total) {
      return;
    }

    function isFull() {
      return max && Number(total.value) >= Number(max.value);
    }

    button.type = "button"; // no longer a submit: Enter in a field saves the form
    button.addEventListener("click", function () {
      if (isFull()) {
        return;
      }
      var index = Number(total.value);
      // Django numbers the rows from 0 in the fields' names, people from 1.
      var html = template.innerHTML
        .replace(/__prefix__/g, String(index))
        .replace(/__number__/g, String(index + 1));
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var row = holder.querySelector("fieldset");
      template.parentNode.insertBefore(row, template);
      total.value = String(index + 1);
      if (isFull()) {
        // Its paragraph: the design system's display of .fr-btn outweighs [hidden].
        button.parentElement.hidden = true;
      }
      var first = row.querySelector("input:not([type=hidden]), select, textarea");
      if (first) {
        first.focus();
      }
    });
  }

  document.querySelectorAll("button[data-add-driver]").forEach(attach);
})();
