// The mailing form says, as the operator types, what the text costs: characters, encoding (GSM-7
// or UCS-2, and the characters that make it UCS-2) and SMS parts against the limit, and offers to
// replace typographic look-alikes that cost parts. The counting is the server's (mailings/segments.py):
// the page names the URL to ask in the data-url attribute of #text-parts. A text with placeholders
// is shown rendered for a few real clients of the audience the filter fields name.
(function () {
  const box = document.getElementById("text-parts");
  const text = document.getElementById("id_message_text");
  const token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (!box || !text || !token) { return; }
  text.parentElement.insertAdjacentElement("afterend", box);  // under the box, above its help
  const line = document.createElement("span");
  const replace = document.createElement("button");
  replace.type = "button";
  replace.className = "button text-parts-replace";
  replace.hidden = true;
  box.append(line, " ", replace);
  // A personalised text: rendered for a few real clients of the audience, and who gets each default.
  const preview = document.createElement("div");
  preview.className = "text-preview";
  box.append(preview);
  function field(id) {
    const input = document.getElementById(id);
    return input ? input.value : "";
  }
  function item(list, text) {
    const li = document.createElement("li");
    li.textContent = text;
    list.append(li);
  }
  function showPreview(found) {
    preview.replaceChildren();
    if (!found || (!found.personalised && !found.problems.length)) { return; }
    const list = document.createElement("ul");
    found.problems.forEach(function (problem) { item(list, problem); });
    found.samples.forEach(function (sample) {
      item(list, sample.error ? sample.phone + ": not sent, " + sample.error
        : sample.phone + ": \u201c" + sample.text + "\u201d \u00b7 " + sample.encoding + " \u00b7 "
          + sample.parts + " SMS part" + (sample.parts === 1 ? "" : "s"));
    });
    found.defaults.forEach(function (d) {
      item(list, d.clients + " client" + (d.clients === 1 ? "" : "s") + " of the audience would get the default of {"
        + d.name + "}");
    });
    if (found.personalised && !found.samples.length) { item(list, "No client of the audience to preview."); }
    const title = document.createElement("strong");
    title.textContent = found.personalised ? "Preview for clients of the audience:" : "Placeholders:";
    preview.append(title, list);
  }
  let timer = null;
  let asked = 0;  // the latest request: an older answer arriving late is dropped
  let replaced = null;
  async function refresh() {
    const ask = ++asked;
    // Counted as the form sends it: a line break is CR LF in a posted form, stored as LF.
    const sent = text.value;
    let body = null;
    try {
      const response = await fetch(box.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: {"X-CSRFToken": token.value},
        body: new URLSearchParams({text: sent, filter_operator_code: field("id_filter_operator_code"),
                                   filter_tag: field("id_filter_tag")}),
      });
      body = response.ok ? await response.json() : null;
    } catch (error) {
      body = null;
    }
    if (ask !== asked) { return; }
    if (body === null) {
      line.textContent = "The count of SMS parts is not available now (reload the page to try again).";
      replace.hidden = true;
      return;
    }
    line.textContent = body.summary + (body.over_limit ? ": too many, shorten the text." : ".");
    showPreview(body.preview);
    box.classList.toggle("text-parts-over", body.over_limit);
    replaced = text.value === sent ? body.replaced : null;
    replace.hidden = replaced === null;
    replace.textContent = "Replace " + body.lookalikes.split("").join(" ") + " with plain characters";
  }
  function later() {
    replace.hidden = true;  // offered again for the text as it is now
    replaced = null;
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }
  replace.addEventListener("click", function () {
    if (replaced !== null) { text.value = replaced; later(); }
  });
  text.addEventListener("input", later);
  ["id_filter_operator_code", "id_filter_tag"].forEach(function (id) {
    const input = document.getElementById(id);
    if (input) { input.addEventListener("change", later); }
  });
  refresh();
})();
