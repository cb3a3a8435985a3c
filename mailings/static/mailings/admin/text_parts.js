// The mailing form says, as the operator types, what the text costs: characters, encoding (GSM-7
// or UCS-2, and the characters that make it UCS-2) and SMS parts against the limit, and offers to
// replace typographic look-alikes that cost parts. The counting is the server's (mailings/segments.py):
// the page names the URL to ask in the data-url attribute of #text-parts.
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
        body: new URLSearchParams({text: sent}),
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
  refresh();
})();
