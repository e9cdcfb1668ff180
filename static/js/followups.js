// Follow-up queue: "All on this page" ticks every case's box for the bulk form (without this script the
// boxes are ticked one by one and that checkbox stays hidden), also after htmx swaps the results; and a
// refused htmx change shows its reason in the case.
(function () {
  "use strict";
  function reveal() {
    document.querySelectorAll(".select-all[hidden]").forEach(function (label) { label.hidden = false; });
  }
  document.addEventListener("DOMContentLoaded", reveal);
  document.addEventListener("htmx:afterSettle", reveal);
  // A refused change (a colleague disabled meanwhile, a case gone) says why in the case, instead of nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var form = event.target.closest && event.target.closest(".followup-case form");
    if (!form) return;
    var said = form.parentNode.querySelector(".case-error") || document.createElement("p");
    said.className = "notice case-error";
    said.setAttribute("role", "alert");
    said.textContent = event.detail.xhr.responseText || "That did not work; reload the page and try again.";
    form.parentNode.insertBefore(said, form);
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-select-all]")) return;
    document.querySelectorAll('input[name="ids"][form="bulk-form"]').forEach(function (each) {
      each.checked = box.checked;
    });
  });
})();
