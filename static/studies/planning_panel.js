// The survey creation page's planning panel: for the items per side chosen in the form and a number of readers,
// the expected half-width of the OR RRRC 95% CI of accuracy and the power of the equivalence test, fetched from
// the reports planning endpoint (data-url). The assumptions are editable; empty fields take the pilot survey's
// values (its stored report's GLMM) or, without a pilot, the server's assumed defaults. Until the pilot select is
// touched the server chooses the pilot for the form's model and real dataset.
(function () {
  "use strict";
  const panel = document.querySelector("[data-testid='planning-panel']");
  if (!panel) {
    return;
  }
  const url = panel.dataset.url;
  const perSide = document.getElementById("id_per_side");
  const model = document.getElementById("id_model_dataset");
  const realDataset = document.getElementById("id_real_dataset");
  const pilotSelect = panel.querySelector("[name='planning_pilot']");
  const assumedSpreads = panel.querySelector("[name='planning_assumed_spreads']");
  const cautionLine = panel.querySelector("[data-testid='planning-caution']");
  const fields = {};
  for (const name of ["readers", "accuracy", "reader_sd", "case_sd", "margin"]) {
    fields[name] = panel.querySelector(`[name='planning_${name}']`);
  }
  const result = panel.querySelector("[data-testid='planning-result']");
  const pilotLine = panel.querySelector("[data-testid='planning-pilot']");
  const sourcesLine = panel.querySelector("[data-testid='planning-sources']");
  const sensitivity = panel.querySelector("[data-testid='planning-sensitivity']");
  const LABELS = { accuracy: "accuracy", reader_sd: "reader SD", case_sd: "slice SD", margin: "margin" };
  let pilotTouched = false;
  let pending = null;
  let sequence = 0;

  function show(text, isError) {
    result.textContent = text;
    result.classList.toggle("errornote", Boolean(isError));
  }

  function rounded(value) {
    return String(Number(Number(value).toFixed(3)));
  }

  function fillPilots(pilots, chosen) {
    const keep = pilotTouched ? pilotSelect.value : chosen || "";
    while (pilotSelect.options.length > 1) {
      pilotSelect.remove(1);
    }
    for (const pilot of pilots) {
      const option = document.createElement("option");
      option.value = pilot.name;
      option.textContent = `${pilot.name} (${pilot.model}, ${pilot.real_dataset}; ${pilot.readers} readers)`;
      pilotSelect.add(option);
    }
    pilotSelect.value = keep;
  }

  function fillSensitivity(rows) {
    const sds = [...new Set(rows.map((row) => row.reader_sd))];
    const head = sensitivity.tHead;
    const body = sensitivity.tBodies[0];
    head.replaceChildren();
    body.replaceChildren();
    const top = head.insertRow();
    top.insertCell().textContent = "reader SD \\ slice SD";
    for (const sd of sds) {
      top.insertCell().textContent = String(sd);
    }
    for (const readerSd of sds) {
      const line = body.insertRow();
      line.insertCell().textContent = String(readerSd);
      for (const caseSd of sds) {
        const row = rows.find((item) => item.reader_sd === readerSd && item.case_sd === caseSd);
        line.insertCell().textContent = `\u00b1${(100 * row.half_width).toFixed(1)}`;
      }
    }
    sensitivity.hidden = rows.length === 0;
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
    if (assumedSpreads.checked) {
      query.set("spreads", "assumed");
    }
    if (pilotTouched) {
      query.set("pilot", pilotSelect.value);
    } else {
      query.set("model", model ? model.value : "");
      query.set("real_dataset", realDataset ? realDataset.value : "");
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
    fillPilots(data.pilots || [], data.pilot ? data.pilot.survey : "");
    pilotLine.textContent = data.pilot
      ? `${data.pilot_chosen_by_default ? "Chosen for this model and real dataset: " : ""}${data.pilot.source}.`
      : "No pilot: the spreads are assumptions (reader SD 0.5, slice SD 0.8), not published values; see the table below.";
    pilotLine.classList.toggle("errornote", Boolean(data.pilot && !data.pilot.estimable));
    if (data.pilot && !data.pilot.estimable) {
      const link = document.createElement("a");
      link.href = data.pilot.report_url;
      link.textContent = " Open its report page.";
      pilotLine.append(link);
    }
    const caution = data.pilot && data.pilot.estimable ? data.pilot.caution : null;
    cautionLine.hidden = !caution;
    cautionLine.querySelector("span").textContent = caution ? `Caution: ${caution}.` : "";
    for (const [name, value] of Object.entries(data.defaults || {})) {
      if (fields[name]) {
        fields[name].placeholder = rounded(value);
      }
    }
    const words = { pilot: "from the pilot", assumed: "assumed", entered: "as entered" };
    sourcesLine.textContent =
      "Used: " +
      Object.entries(data.sources || {})
        .map(([name, source]) => `${LABELS[name]} ${rounded(data[name])} (${words[source]})`)
        .join(", ") +
      ".";
    fillSensitivity(data.sensitivity || []);
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
  for (const input of [perSide, model, realDataset]) {
    if (input) {
      input.addEventListener("input", later);
      input.addEventListener("change", later);
    }
  }
  assumedSpreads.addEventListener("change", later);
  pilotSelect.addEventListener("change", () => {
    pilotTouched = true;
    assumedSpreads.checked = false; // a choice made for one pilot's caution

    // the pilot's values replace the previous pilot's in the empty fields; typed values stay
    later();
  });
  update();
})();
