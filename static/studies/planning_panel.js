// The survey creation page's planning panel: for the items per side chosen in the form and a number of readers,
// the expected half-width of the OR RRRC 95% CI of accuracy and the power of the equivalence test, fetched from
// the metrics planning endpoint (data-url). The assumptions are editable; empty fields take the server's defaults.
(function () {
  "use strict";
  const panel = document.querySelector("[data-testid='planning-panel']");
  if (!panel) {
    return;
  }
  const url = panel.dataset.url;
  const perSide = document.getElementById("id_per_side");
  const fields = {};
  for (const name of ["readers", "accuracy", "reader_sd", "case_sd", "margin"]) {
    fields[name] = panel.querySelector(`[name='planning_${name}']`);
  }
  const result = panel.querySelector("[data-testid='planning-result']");
  let pending = null;
  let sequence = 0;

  function show(text, isError) {
    result.textContent = text;
    result.classList.toggle("errornote", Boolean(isError));
  }

  async function update() {
    const query = new URLSearchParams();
    query.set("readers", fields.readers.value);
    query.set("items_per_side", perSide ? perSide.value : "");
    for (const name of ["accuracy", "reader_sd", "case_sd", "margin"]) {
      if (fields[name].value.trim() !== "") {
        query.set(name, fields[name].value);
      }
    }
    const mine = ++sequence;
    let data;
    try {
      const response = await fetch(`${url}?${query}`, { credentials: "same-origin" });
      data = await response.json();
    } catch (error) {
      if (mine === sequence) {
        show("The planning figures could not be fetched.", true);
      }
      return;
    }
    if (mine !== sequence) {
      return; // a newer request is under way
    }
    if (data.error) {
      show(data.error, true);
      return;
    }
    for (const [name, value] of Object.entries(data.defaults || {})) {
      if (fields[name]) {
        fields[name].placeholder = String(value);
      }
    }
    const halfWidth = (100 * data.half_width).toFixed(1);
    const power = (100 * data.equivalence_power).toFixed(0);
    const margin = (100 * data.margin).toFixed(0);
    show(
      `${data.readers} readers x ${data.items_per_side} items per side: expected 95% CI of accuracy ` +
        `\u00b1${halfWidth} points (OR RRRC); power of the equivalence test (within 50% \u00b1 ${margin} ` +
        `points) ${power}%.`,
      false,
    );
  }

  function later() {
    window.clearTimeout(pending);
    pending = window.setTimeout(update, 250);
  }

  for (const input of Object.values(fields)) {
    input.addEventListener("input", later);
  }
  if (perSide) {
    perSide.addEventListener("input", later);
  }
  update();
})();
