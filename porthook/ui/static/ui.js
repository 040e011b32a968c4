// porthook dashboard: progressive enhancement only; every page works without it.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Portability check as you type (the order forms' number list).
  function portability(area) {
    var out = document.getElementById(area.getAttribute("data-portability"));
    // On a fix form: the order's own numbers are not "held by another order".
    var order = area.getAttribute("data-order-id");
    var timer = null;
    function check() {
      var numbers = area.value.split(/[\s,;]+/).filter(function (n) { return n.length > 0; });
      if (numbers.length === 0) { out.textContent = ""; return; }
      fetch("/ui/portal/portability", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
        body: JSON.stringify(order ? {phone_numbers: numbers.slice(0, 1000), order_id: order}
                                   : {phone_numbers: numbers.slice(0, 1000)})
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
        if (!body) { return; }
        out.textContent = "";
        body.data.forEach(function (result) {
          var li = document.createElement("li");
          li.className = result.portable ? "good" : "bad";
          li.textContent = result.phone_number + ": " +
            (result.portable ? "portable" : "not portable — " + result.reason);
          out.appendChild(li);
        });
      });
    }
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 400);
    });
    if (area.value) { check(); }
  }

  // "Select all" for bulk number actions.
  function selectAll(box) {
    box.addEventListener("change", function () {
      var name = box.getAttribute("data-select-all");
      document.querySelectorAll('input[name="' + name + '"]').forEach(function (b) {
        b.checked = box.checked;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-portability]").forEach(portability);
    document.querySelectorAll("input[data-select-all]").forEach(selectAll);
  });
})();
