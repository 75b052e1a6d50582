// Follows a job's progress on its admin page and reloads the page once the job has finished.
// Markup: <div data-job-progress data-url="/jobs/<label>/<pk>/progress.json" data-finished="0|1"> with a
// <progress data-role="bar"> and an element data-role="text" inside. The URL answers the job framework's one
// progress JSON ({line, counts, done, total, finished, ...}).
(function () {
  "use strict";
  function follow(box) {
    if (box.dataset.finished === "1") return;
    const bar = box.querySelector("[data-role=bar]");
    const text = box.querySelector("[data-role=text]");
    const counts = box.querySelector("[data-role=counts]");
    async function poll() {
      try {
        const response = await fetch(box.dataset.url, { credentials: "same-origin", cache: "no-store" });
        if (response.ok) {
          const job = await response.json();
          bar.max = Math.max(job.total, 1);
          bar.value = job.done;
          text.textContent = job.line;
          if (counts) counts.textContent = job.counts;
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
