// The periodic task form says in words when the chosen crontab runs, under the crontab's field,
// in place of the read-only "crontab translation" row. The words for each crontab come in the
// JSON of #readable-crontabs; pages without a crontab field (an operator's form) are left alone.
(function () {
  const crontab = document.getElementById("id_crontab");
  const data = document.getElementById("readable-crontabs");
  const help = document.querySelector(".field-crontab .help");
  if (!crontab || !data || !help) { return; }
  const readable = JSON.parse(data.textContent);
  const original = help.textContent.trim();
  for (const row of document.querySelectorAll(".field-crontab_translation")) { row.style.display = "none"; }
  crontab.addEventListener("change", () => {
    const words = readable[crontab.value];
    help.replaceChildren(original, ...(words ? [document.createElement("br"), "Translation: " + words] : []));
  });
})();
