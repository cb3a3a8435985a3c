// The client export's "Select all" box checks or clears every column's box, with
// django-import-export's own handler (its export_selectable_fields.js, which the page loads first);
// the library's page calls it from an inline onchange attribute, which the Content-Security-Policy refuses.
(function () {
  const toggle = document.getElementById("select-all-toggle");
  if (toggle) { toggle.addEventListener("change", onSelectToggleChange); }
})();
