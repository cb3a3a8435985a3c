// The mailing form says, as the operator types the filter, how many clients it matches now, next
// to the filter fields. The page names the URL to ask in the data-url attribute of #audience-preview.
(function () {
  const box = document.getElementById("audience-preview");
  const code = document.getElementById("id_filter_operator_code");
  const tag = document.getElementById("id_filter_tag");
  if (!box || !code || !tag) { return; }
  // Into the filter fields' row of the Who fieldset: the line under the two fields, at any width.
  const row = code.closest(".form-multiline") || code.closest(".form-row");
  if (row) { row.append(box); }
  let timer = null;
  async function refresh() {
    const params = new URLSearchParams({filter_operator_code: code.value, filter_tag: tag.value});
    const response = await fetch(box.dataset.url + "?" + params, {credentials: "same-origin"});
    const body = await response.json();
    box.textContent = body.error ? body.error
      : "Audience now: " + body.count.toLocaleString() + " client(s) match this filter.";
    box.classList.toggle("audience-empty", !body.error && body.count === 0);
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 250); }
  code.addEventListener("input", later);
  tag.addEventListener("input", later);
  refresh();
})();
