// Polls a background job's progress for an admin page and reloads the page once the job has finished.
// Markup: <div data-job-progress data-url="..." data-finished="0|1" data-unit="files"> with a <progress
// data-role="bar"> and a <p data-role="text"> inside. The URL answers {status_display, message, done, total, finished}.
(function () {
  "use strict";
  function follow(box) {
    if (box.dataset.finished === "1") return;
    const bar = box.querySelector("[data-role=bar]");
    const text = box.querySelector("[data-role=text]");
    const unit = box.dataset.unit ? " " + box.dataset.unit : "";
    async function poll() {
      try {
        const response = await fetch(box.dataset.url, { credentials: "same-origin", cache: "no-store" });
        if (response.ok) {
          const job = await response.json();
          bar.max = Math.max(job.total, 1);
          bar.value = job.done;
          text.textContent = job.status_display + ": " + job.message + " (" + job.done + " / " + job.total + unit + ")";
          if (job.finished) { window.location.reload(); return; }
        }
      } catch (err) {
        text.textContent += " (connection lost, retrying)";
      }
      window.setTimeout(poll, 1000);
    }
    window.setTimeout(poll, 500);
  }
  document.querySelectorAll("[data-job-progress]").forEach(follow);
})();
