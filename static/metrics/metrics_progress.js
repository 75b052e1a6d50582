// Polls a metrics job's progress and updates the bar; reloads the page once the job has finished.
(function () {
  "use strict";
  const box = document.getElementById("metrics-progress");
  if (!box || box.dataset.finished === "1") return;
  const bar = document.getElementById("metrics-progress-bar");
  const text = document.getElementById("metrics-progress-text");
  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        const job = await response.json();
        bar.max = Math.max(job.total, 1);
        bar.value = job.done;
        text.textContent = job.status_display + ": " + job.message + " (" + job.done + " / " + job.total + " slices)";
        if (job.finished) { window.location.reload(); return; }
      }
    } catch (err) {
      text.textContent += " (connection lost, retrying)";
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
