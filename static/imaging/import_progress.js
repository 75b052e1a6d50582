// Polls an import job's progress and updates the bar; reloads the page once the job has finished.
(function () {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box || box.dataset.finished === "1") return;
  const bar = document.getElementById("import-progress-bar");
  const text = document.getElementById("import-progress-text");
  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        const job = await response.json();
        bar.max = Math.max(job.files_total, 1);
        bar.value = job.files_done;
        text.textContent = job.status_display + ": " + job.message + " (" + job.files_done + " / " + job.files_total + ")";
        if (job.finished) { window.location.reload(); return; }
      }
    } catch (err) {
      text.textContent += " (connection lost, retrying)";
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
