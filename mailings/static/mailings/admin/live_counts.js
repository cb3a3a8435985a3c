// The mailing list's rows (progress, counts, status, audience) refresh in place while the page is
// open. The page names the URL to ask and how often, ADMIN_LIVE_COUNTS_SECONDS, in the data-
// attributes of #live-counts; other pages of the mailing admin have no such element.
(function () {
  const element = document.getElementById("live-counts");
  if (!element) { return; }
  const config = element.dataset;
  const kinds = {
    progress: ".mailing-progress", counts: ".mailing-counts", status: ".mailing-status", audience: ".audience-now",
  };
  async function refresh() {
    const ids = [...new Set([...document.querySelectorAll("[data-mailing]")].map(el => el.dataset.mailing))];
    if (!ids.length || document.hidden) { return; }
    const params = new URLSearchParams(ids.map(id => ["id", id]));
    try {
      const response = await fetch(config.url + "?" + params, {credentials: "same-origin"});
      if (!response.ok) { return; }
      const rows = await response.json();
      for (const [id, row] of Object.entries(rows)) {
        for (const [kind, selector] of Object.entries(kinds)) {
          const el = document.querySelector(selector + '[data-mailing="' + id + '"]');
          if (el && el.outerHTML !== row[kind]) { el.outerHTML = row[kind]; }
        }
      }
    } catch (error) { /* offline for a moment: try again at the next turn */ }
  }
  setInterval(refresh, 1000 * Number(config.every));
})();
