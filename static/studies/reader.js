/*
 * Blindread reader page: one CT slice on a canvas, windowed here from raw HU, and the reader's answer.
 *
 * The page's data comes from two JSON blocks: #reader-config (this item) and #reader-strings (UI text).
 * Pixels: GET config.pixelsUrl -> matrix*matrix little-endian int16 HU, row-major.
 * Answer: POST config.answerUrl (JSON, X-CSRFToken); the same client_key on every retry of one answer, so the
 * server stores it once. Until the server confirms, the answer waits in localStorage and is sent again
 * (after a dropped connection, a reload, or signing in again). The DOM and keyboard contract is documented in
 * docs/reader_page.md.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("reader-config").textContent);
  var strings = JSON.parse(document.getElementById("reader-strings").textContent);

  function byTestId(id) {
    return document.querySelector('[data-testid="' + id + '"]');
  }

  var canvas = byTestId("slice-canvas");
  var context = canvas.getContext("2d");
  var message = byTestId("viewer-message");
  var widthOut = byTestId("window-width");
  var levelOut = byTestId("window-level");
  var zoomOut = byTestId("zoom-level");
  var reasonBox = byTestId("reason");
  var submitButton = byTestId("submit-answer");
  var previousButton = byTestId("previous");
  var saveStatus = byTestId("save-status");
  var dragModeButton = byTestId("drag-mode");
  var invertButton = byTestId("invert");
  var choiceButtons = Array.prototype.slice.call(document.querySelectorAll("[data-choice]"));
  var presetButtons = Array.prototype.slice.call(document.querySelectorAll("[data-preset]"));
  var ratingButtons = Array.prototype.slice.call(document.querySelectorAll("[data-rating]"));
  var ratingSlider = byTestId("rating-slider");
  var ratingValueOut = byTestId("rating-value");
  var rating = config.rating;
  var stackScroll = byTestId("stack-scroll");
  var slicePositionOut = byTestId("slice-position");
  var stack = config.stack || { slices: 1, k: 0 };
  var huOut = byTestId("hu-value");
  var contradictionBox = byTestId("contradiction");
  var isStack = stack.slices > 1;
  // Time-limited exposure (exposure.js): the image for its requested time, then a mask; off: nothing changes.
  var exposure = window.BlindreadExposure.create(config.exposure, canvas, config.matrix);
  var slabViewer = null; // slab items: static/studies/slab_viewer.js (coronal and sagittal views), attached at the start

  var matrix = config.matrix;
  var huMin = config.huRange[0];
  var huMax = config.huRange[1];
  var defaultWindow = config.defaultWindow;
  var pendingKey = config.storageKey + ":pending";
  var draftKey = config.storageKey + ":draft:" + config.itemId;
  var MIN_ZOOM = 0.5;
  var MAX_ZOOM = 16;
  var REQUEST_TIMEOUT_MS = 15000;
  var SLICE_DRAG_PX = 24;
  var MAX_RETRY_DELAY_MS = 30000;

  var state = {
    hu: null,
    slices: null, // every slice of the stack (one for a single slice), each an Int16Array of matrix * matrix
    offset: 0, // the slice on screen, from the centre: -k..k
    visited: [0],
    perSliceMs: new Array(stack.slices).fill(0),
    width: defaultWindow.width,
    level: defaultWindow.level,
    zoom: 1,
    panX: 0,
    panY: 0,
    windowChanged: false,
    choice: null,
    rating: null,
    baseRevision: config.answer ? config.answer.revision : 0,
    sending: false,
    retryDelay: 1000,
    retryTimer: null,
    visibleMs: 0,
    visibleSince: null,
    dragMode: "window",
    inverted: false,
    invertUsed: false,
    feedbackNext: null,
    contradictionConfirmed: false,
    probe: null, // the canvas point whose HU is shown ({x, y} in CSS pixels from the canvas' corner), or null
  };

  // ---------------------------------------------------------------------------------------------------
  // Storage that survives reloads; a browser without it (private mode) still works, without the safety net.

  function storageGet(key) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (error) {
      return null;
    }
  }

  function storageSet(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (error) {
      /* storage full or disabled: the answer is still sent, only not kept across reloads */
    }
  }

  function storageRemove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (error) {
      /* nothing to remove */
    }
  }

  function newClientKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function csrfToken() {
    var input = document.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  // ---------------------------------------------------------------------------------------------------
  // Time on slice: counted only while the slice is on screen and the page is visible.

  function startClock() {
    if (state.visibleSince === null && document.visibilityState === "visible" && state.hu !== null) {
      state.visibleSince = performance.now();
    }
  }

  function stopClock() {
    if (state.visibleSince !== null) {
      var elapsed = performance.now() - state.visibleSince;
      state.visibleMs += elapsed;
      state.perSliceMs[state.offset + stack.k] += elapsed;
      state.visibleSince = null;
    }
  }

  function secondsPerSlice() {
    var running = state.visibleSince === null ? 0 : performance.now() - state.visibleSince;
    return state.perSliceMs.map(function (ms, index) {
      var total = index === state.offset + stack.k ? ms + running : ms;
      return Math.round(total / 10) / 100;
    });
  }

  function secondsOnSlice() {
    var running = state.visibleSince === null ? 0 : performance.now() - state.visibleSince;
    return Math.round((state.visibleMs + running) / 10) / 100;
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      startClock();
    } else {
      stopClock();
    }
  });

  // ---------------------------------------------------------------------------------------------------
  // Pixels and drawing

  var offscreen = document.createElement("canvas");
  offscreen.width = matrix;
  offscreen.height = matrix;
  var offscreenContext = offscreen.getContext("2d");
  var imageData = offscreenContext.createImageData(matrix, matrix);

  function loadPixels(attempt) {
    message.textContent = strings.loading;
    message.hidden = false;
    fetch(config.pixelsUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.arrayBuffer();
      })
      .then(function (buffer) {
        var size = matrix * matrix;
        if (buffer.byteLength !== stack.slices * size * 2) {
          throw new Error("unexpected size");
        }
        var view = new DataView(buffer);
        var slices = [];
        for (var s = 0; s < stack.slices; s += 1) {
          var hu = new Int16Array(size);
          for (var i = 0; i < size; i += 1) {
            hu[i] = view.getInt16((s * size + i) * 2, true);
          }
          slices.push(hu);
        }
        state.slices = slices;
        state.hu = slices[state.offset + stack.k];
        message.hidden = true;
        canvas.dataset.loaded = "true";
        renderWindow();
        exposure.start(draw, startClock);
      })
      .catch(function () {
        message.textContent = strings.loadFailed;
        var delay = Math.min(MAX_RETRY_DELAY_MS, 1000 * Math.pow(2, attempt));
        window.setTimeout(function () {
          loadPixels(attempt + 1);
        }, delay);
      });
  }

  function renderWindow() {
    if (state.hu === null) {
      return;
    }
    var low = state.level - state.width / 2;
    var span = huMax - huMin + 1;
    var lut = new Uint8ClampedArray(span);
    for (var v = 0; v < span; v += 1) {
      lut[v] = Math.round(((v + huMin - low) / state.width) * 255);
    }
    var pixels = imageData.data;
    var hu = state.hu;
    for (var i = 0, j = 0; i < hu.length; i += 1, j += 4) {
      var value = hu[i];
      var grey = value < huMin ? lut[0] : value > huMax ? lut[span - 1] : lut[value - huMin];
      if (state.inverted) {
        grey = 255 - grey;
      }
      pixels[j] = grey;
      pixels[j + 1] = grey;
      pixels[j + 2] = grey;
      pixels[j + 3] = 255;
    }
    offscreenContext.putImageData(imageData, 0, 0);
    state.lut = lut; // the slab viewer's reformats use the same grey levels
    draw();
  }

  function fitCanvas() {
    var rect = canvas.getBoundingClientRect();
    var ratio = window.devicePixelRatio || 1;
    var width = Math.max(1, Math.round(rect.width * ratio));
    var height = Math.max(1, Math.round(rect.height * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
  }

  function scaleOnCanvas() {
    return (Math.min(canvas.width, canvas.height) / matrix) * state.zoom;
  }

  function draw() {
    fitCanvas();
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = "#000";
    context.fillRect(0, 0, canvas.width, canvas.height);
    if (state.hu !== null) {
      var scale = scaleOnCanvas();
      var ratio = window.devicePixelRatio || 1;
      context.imageSmoothingEnabled = scale < 1;
      context.setTransform(
        scale,
        0,
        0,
        scale,
        canvas.width / 2 + state.panX * ratio - (matrix * scale) / 2,
        canvas.height / 2 + state.panY * ratio - (matrix * scale) / 2
      );
      exposure.paint(context, offscreen);
    }
    widthOut.textContent = String(Math.round(state.width));
    levelOut.textContent = String(Math.round(state.level));
    zoomOut.textContent = String(Math.round(state.zoom * 100));
    showHu();
    if (slabViewer !== null) {
      slabViewer.redraw();
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // HU readout: the stored value of the payload pixel under the pointer (or a long press), on the slice on
  // screen. It reads the decoded payload, so it is the same computation for every item.

  function pixelAt(point) {
    if (state.hu === null || point === null) {
      return null;
    }
    var rect = canvas.getBoundingClientRect();
    var ratio = canvas.width / (rect.width || 1);
    var scale = scaleOnCanvas();
    var originX = canvas.width / 2 + state.panX * (window.devicePixelRatio || 1) - (matrix * scale) / 2;
    var originY = canvas.height / 2 + state.panY * (window.devicePixelRatio || 1) - (matrix * scale) / 2;
    var column = Math.floor((point.x * ratio - originX) / scale);
    var row = Math.floor((point.y * ratio - originY) / scale);
    if (column < 0 || row < 0 || column >= matrix || row >= matrix) {
      return null;
    }
    return { column: column, row: row, hu: state.hu[row * matrix + column] };
  }

  function showHu() {
    var pixel = pixelAt(state.probe);
    huOut.textContent = pixel === null ? "–" : String(pixel.hu);
    if (pixel === null) {
      delete huOut.dataset.column;
      delete huOut.dataset.row;
    } else {
      huOut.dataset.column = String(pixel.column);
      huOut.dataset.row = String(pixel.row);
    }
  }

  function probeAt(event) {
    var rect = canvas.getBoundingClientRect();
    state.probe = { x: event.clientX - rect.left, y: event.clientY - rect.top };
    showHu();
  }

  // ---------------------------------------------------------------------------------------------------
  // Stack: the reader scrolls through the item's 2k+1 slices; the window, zoom, pan and invert stay as they are.

  function showSlicePosition() {
    if (!isStack) {
      return;
    }
    var number = state.offset + stack.k + 1;
    slicePositionOut.textContent = strings.slicePosition
      .replace("%(number)s", String(number))
      .replace("%(total)s", String(stack.slices));
    stackScroll.value = String(number);
    canvas.dataset.sliceOffset = String(state.offset);
  }

  function showSlice(offset) {
    if (!isStack) {
      return;
    }
    offset = Math.max(-stack.k, Math.min(stack.k, offset));
    if (offset === state.offset) {
      showSlicePosition();
      return;
    }
    var running = state.visibleSince !== null;
    stopClock();
    state.offset = offset;
    if (state.visited.indexOf(offset) < 0) {
      state.visited.push(offset);
    }
    if (state.slices !== null) {
      state.hu = state.slices[offset + stack.k];
      renderWindow();
    }
    if (running) {
      startClock();
    }
    showSlicePosition();
  }

  function stepSlice(direction) {
    showSlice(state.offset + direction);
  }

  if (isStack) {
    stackScroll.addEventListener("input", function () {
      showSlice(Number(stackScroll.value) - stack.k - 1);
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Window, zoom, pan

  function setWindow(width, level) {
    state.width = Math.max(1, Math.min(8000, width));
    state.level = Math.max(huMin, Math.min(huMax, level));
    if (Math.round(state.width) !== defaultWindow.width || Math.round(state.level) !== defaultWindow.level) {
      state.windowChanged = true;
    }
    canvas.dataset.windowChanged = String(state.windowChanged);
    presetButtons.forEach(function (button) {
      var preset = presetFor(button.dataset.preset);
      button.setAttribute(
        "aria-pressed",
        String(preset.width === Math.round(state.width) && preset.level === Math.round(state.level))
      );
    });
    renderWindow();
  }

  function presetFor(key) {
    for (var i = 0; i < config.presets.length; i += 1) {
      if (config.presets[i].key === key) {
        return config.presets[i];
      }
    }
    return null;
  }

  function applyPreset(key) {
    var preset = presetFor(key);
    if (preset) {
      setWindow(preset.width, preset.level);
    }
  }

  // Zoom about a point given in CSS pixels relative to the canvas centre, keeping that point still.
  function zoomBy(factor, aboutX, aboutY) {
    var zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, state.zoom * factor));
    var applied = zoom / state.zoom;
    aboutX = aboutX || 0;
    aboutY = aboutY || 0;
    state.panX = aboutX - (aboutX - state.panX) * applied;
    state.panY = aboutY - (aboutY - state.panY) * applied;
    state.zoom = zoom;
    draw();
  }

  // Invert the grey scale (white bone on black becomes black on white); the answer records that it was used.
  function toggleInvert() {
    state.inverted = !state.inverted;
    state.invertUsed = true;
    invertButton.setAttribute("aria-pressed", String(state.inverted));
    canvas.dataset.inverted = String(state.inverted);
    renderWindow();
  }

  function resetView() {
    state.zoom = 1;
    state.panX = 0;
    state.panY = 0;
    setWindow(defaultWindow.width, defaultWindow.level);
  }

  function fromCentre(event) {
    var rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left - rect.width / 2, y: event.clientY - rect.top - rect.height / 2 };
  }

  var pointers = new Map();
  var pinch = null;
  // Set once a second finger touches, until the last one is lifted: the finger left on the glass after a
  // two-finger gesture does not start a window drag.
  var multiTouch = false;

  // A finger held still for LONG_PRESS_MS reads the HU under it (the window is put back as it was when the
  // finger touched) and, until it is lifted, moving it moves the readout instead of changing the window.
  var LONG_PRESS_MS = 500;
  var LONG_PRESS_SLOP_PX = 8;
  var longPress = null;

  function cancelLongPress() {
    if (longPress !== null) {
      window.clearTimeout(longPress.timer);
      longPress = null;
    }
  }

  canvas.addEventListener("pointerdown", function (event) {
    canvas.setPointerCapture(event.pointerId);
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY, button: event.button, shift: event.shiftKey });
    if (pointers.size === 2) {
      pinch = pinchState();
      multiTouch = true;
    }
    cancelLongPress();
    if (event.pointerType === "touch" && pointers.size === 1) {
      var start = { x: event.clientX, y: event.clientY, width: state.width, level: state.level, changed: state.windowChanged };
      longPress = {
        pointerId: event.pointerId,
        start: start,
        active: false,
        timer: window.setTimeout(function () {
          if (longPress === null || pointers.size !== 1) {
            return;
          }
          longPress.active = true;
          setWindow(start.width, start.level);
          state.windowChanged = start.changed;
          canvas.dataset.windowChanged = String(start.changed);
          probeAt({ clientX: start.x, clientY: start.y });
        }, LONG_PRESS_MS),
      };
    } else if (event.pointerType !== "touch") {
      probeAt(event);
    }
    event.preventDefault();
  });

  // A mouse or pen over the image, buttons up: the readout follows it.
  canvas.addEventListener("pointermove", function (event) {
    if (event.pointerType !== "touch" && !pointers.has(event.pointerId)) {
      probeAt(event);
    }
  });
  canvas.addEventListener("pointerleave", function (event) {
    if (event.pointerType !== "touch" && !pointers.has(event.pointerId)) {
      state.probe = null;
      showHu();
    }
  });

  function pinchState() {
    var points = Array.from(pointers.values());
    var dx = points[1].x - points[0].x;
    var dy = points[1].y - points[0].y;
    return { distance: Math.hypot(dx, dy) || 1, x: (points[0].x + points[1].x) / 2, y: (points[0].y + points[1].y) / 2 };
  }

  canvas.addEventListener("pointermove", function (event) {
    var last = pointers.get(event.pointerId);
    if (!last) {
      return;
    }
    var dx = event.clientX - last.x;
    var dy = event.clientY - last.y;
    last.x = event.clientX;
    last.y = event.clientY;
    if (longPress !== null && longPress.pointerId === event.pointerId) {
      if (longPress.active) {
        probeAt(event);
        return;
      }
      if (Math.hypot(event.clientX - longPress.start.x, event.clientY - longPress.start.y) > LONG_PRESS_SLOP_PX) {
        cancelLongPress();
      }
    } else if (pointers.size >= 2) {
      cancelLongPress();
    }
    if (event.pointerType !== "touch") {
      probeAt(event);
    }
    if (pointers.size >= 2 && pinch) {
      var next = pinchState();
      var rect = canvas.getBoundingClientRect();
      if (isStack) {
        // Two fingers dragged together scroll the stack, one slice per SLICE_DRAG_PX; spreading them zooms.
        pinch.travel = (pinch.travel || 0) + (next.y - pinch.y);
        var steps = Math.trunc(pinch.travel / SLICE_DRAG_PX);
        if (steps !== 0) {
          stepSlice(steps);
          pinch.travel -= steps * SLICE_DRAG_PX;
        }
        next.travel = pinch.travel;
      } else {
        state.panX += next.x - pinch.x;
        state.panY += next.y - pinch.y;
      }
      zoomBy(next.distance / pinch.distance, next.x - rect.left - rect.width / 2, next.y - rect.top - rect.height / 2);
      pinch = next;
      return;
    }
    if (multiTouch) {
      return;
    }
    var panning = state.dragMode === "pan" || last.shift || event.shiftKey || last.button === 1 || last.button === 2;
    if (panning) {
      state.panX += dx;
      state.panY += dy;
      draw();
    } else {
      var sensitivity = Math.max(1, state.width / 256);
      setWindow(state.width + dx * 2 * sensitivity, state.level - dy * sensitivity);
    }
  });

  function endPointer(event) {
    pointers.delete(event.pointerId);
    if (longPress !== null && longPress.pointerId === event.pointerId) {
      cancelLongPress();
    }
    pinch = pointers.size === 2 ? pinchState() : null;
    if (pointers.size === 0) {
      multiTouch = false;
    }
  }

  canvas.addEventListener("pointerup", endPointer);
  canvas.addEventListener("pointercancel", endPointer);
  canvas.addEventListener("contextmenu", function (event) {
    event.preventDefault();
  });
  canvas.addEventListener(
    "wheel",
    function (event) {
      event.preventDefault();
      if (isStack && !event.ctrlKey) {
        if (event.deltaY !== 0) {
          stepSlice(event.deltaY > 0 ? 1 : -1);
        }
        return;
      }
      var point = fromCentre(event);
      zoomBy(event.deltaY < 0 ? 1.15 : 1 / 1.15, point.x, point.y);
    },
    { passive: false }
  );
  window.addEventListener("resize", draw);

  presetButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      applyPreset(button.dataset.preset);
    });
  });
  byTestId("zoom-in").addEventListener("click", function () {
    zoomBy(1.25);
  });
  byTestId("zoom-out").addEventListener("click", function () {
    zoomBy(1 / 1.25);
  });
  byTestId("reset-view").addEventListener("click", resetView);
  invertButton.addEventListener("click", toggleInvert);
  dragModeButton.addEventListener("click", function () {
    state.dragMode = state.dragMode === "window" ? "pan" : "window";
    dragModeButton.setAttribute("aria-pressed", String(state.dragMode === "pan"));
    dragModeButton.textContent = state.dragMode === "pan" ? strings.dragPan : strings.dragWindow;
  });

  // ---------------------------------------------------------------------------------------------------
  // The answer

  // Whether the answer is complete: a choice (unless the survey derives it from the rating) and a rating
  // (when the survey asks for one).
  function answerReady() {
    return (!rating.asksChoice || state.choice !== null) && (rating.scale === "none" || state.rating !== null);
  }

  function setChoice(choice, remember) {
    state.choice = choice;
    hideContradiction();
    choiceButtons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.choice === choice));
    });
    submitButton.disabled = !answerReady() || state.sending;
    if (remember !== false) {
      saveDraft();
    }
  }

  // The rating starts unset on every item (no default the reader could take for a hint); null clears it.
  function setRating(value, remember) {
    if (rating.scale === "none" || state.feedbackNext !== null) {
      return;
    }
    if (value !== null) {
      value = Math.max(rating.min, Math.min(rating.max, Math.round(value)));
    }
    state.rating = value;
    hideContradiction();
    ratingButtons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.rating) === value));
    });
    if (ratingSlider) {
      ratingSlider.dataset.set = String(value !== null);
      if (value !== null) {
        ratingSlider.value = String(value);
      }
      ratingSlider.setAttribute("aria-valuetext", value === null ? strings.ratingNotSet : String(value));
      ratingValueOut.textContent = value === null ? "–" : String(value);
    }
    submitButton.disabled = !answerReady() || state.sending;
    if (remember !== false) {
      saveDraft();
    }
  }

  // Shift+1..5: a point of the 5-point scale, or 0, 25, 50, 75, 100 on the slider.
  function ratingForDigit(digit) {
    return rating.scale === "five_point" ? digit : (digit - 1) * 25;
  }

  function stepRating(direction) {
    var step = rating.scale === "five_point" ? 1 : 5;
    var start = state.rating === null ? Math.round((rating.min + rating.max) / 2) : state.rating + direction * step;
    setRating(start);
  }

  function saveDraft() {
    storageSet(draftKey, { choice: state.choice, rating: state.rating, reason: reasonBox.value });
  }

  ratingButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      setRating(Number(button.dataset.rating));
    });
  });
  if (ratingSlider) {
    ratingSlider.addEventListener("input", function () {
      setRating(Number(ratingSlider.value));
    });
    // A click on the slider's thumb where it already is still sets the rating.
    ratingSlider.addEventListener("pointerup", function () {
      setRating(Number(ratingSlider.value));
    });
  }

  choiceButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      setChoice(button.dataset.choice);
    });
  });
  reasonBox.addEventListener("input", saveDraft);

  function showStatus(text, kind) {
    saveStatus.textContent = text;
    saveStatus.dataset.state = kind;
  }

  // ---------------------------------------------------------------------------------------------------
  // A rating that leans against the chosen answer (4 with Indeterminable or Real on the 5-point scale) is
  // confirmed before it is saved, in surveys that ask for the choice (the server refuses it unconfirmed).

  function ratingLeaning(value) {
    var midpoint = (rating.min + rating.max) / 2;
    return value < midpoint ? "real" : value > midpoint ? "synthetic" : null;
  }

  function contradicts() {
    if (!rating.confirmContradictions || state.rating === null || state.choice === null) {
      return false;
    }
    var leaning = ratingLeaning(state.rating);
    return leaning !== null && leaning !== state.choice;
  }

  var CHOICE_NAMES = { real: "choiceReal", synthetic: "choiceSynthetic", indeterminable: "choiceIndeterminable" };

  function showContradiction() {
    byTestId("contradiction-message").textContent = strings.contradiction
      .replace("%(rating)s", String(state.rating))
      .replace("%(answer)s", strings[CHOICE_NAMES[state.choice]]);
    contradictionBox.hidden = false;
    byTestId("confirm-contradiction").focus();
  }

  function hideContradiction() {
    state.contradictionConfirmed = false;
    if (contradictionBox) {
      contradictionBox.hidden = true;
    }
  }

  if (contradictionBox) {
    byTestId("confirm-contradiction").addEventListener("click", function () {
      state.contradictionConfirmed = true;
      contradictionBox.hidden = true;
      canvas.focus(); // keys keep working: Enter goes on once the answer is saved
      submit();
    });
    byTestId("change-answer").addEventListener("click", function () {
      hideContradiction();
      var chosen = document.querySelector('[data-choice][aria-pressed="true"]');
      (chosen || canvas).focus();
    });
  }

  function submit() {
    if (state.feedbackNext !== null) {
      window.location.assign(state.feedbackNext);
      return;
    }
    if (state.sending) {
      return;
    }
    if (rating.asksChoice && state.choice === null) {
      showStatus(strings.chooseFirst, "error");
      return;
    }
    if (rating.scale !== "none" && state.rating === null) {
      showStatus(strings.rateFirst, "error");
      return;
    }
    if (contradicts() && !state.contradictionConfirmed) {
      showContradiction();
      return;
    }
    var pending = {
      itemId: config.itemId,
      url: config.answerUrl,
      body: {
        choice: rating.asksChoice ? state.choice : null,
        rating: rating.scale === "none" ? null : state.rating,
        reason: reasonBox.value,
        seconds_on_slice: secondsOnSlice(),
        window_width: Math.round(state.width * 10) / 10,
        window_level: Math.round(state.level * 10) / 10,
        zoom: Math.round(state.zoom * 1000) / 1000,
        window_changed: state.windowChanged,
        invert_used: state.invertUsed,
        slices_visited: isStack ? state.visited.slice() : [],
        seconds_per_slice: isStack ? secondsPerSlice() : [],
        client_key: newClientKey(),
        base_revision: state.baseRevision,
        contradiction_confirmed: contradicts() && state.contradictionConfirmed,
        exposure_measured_ms: exposure.measuredMs(),
      },
    };
    if (slabViewer !== null) {
      Object.assign(pending.body, slabViewer.answerFields()); // views_used, seconds_per_view
    }
    storageSet(pendingKey, pending);
    send(pending, true);
  }

  function setSending(sending) {
    state.sending = sending;
    submitButton.disabled = sending || !answerReady();
    submitButton.setAttribute("aria-busy", String(sending));
    document.body.dataset.sending = String(sending);
  }

  // Send a pending answer until the server has it. `current` says whether it is this page's item.
  function send(pending, current) {
    window.clearTimeout(state.retryTimer);
    state.retryTimer = null;
    setSending(true);
    showStatus(strings.saving, "saving");
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timeout = window.setTimeout(function () {
      if (controller) {
        controller.abort();
      }
    }, REQUEST_TIMEOUT_MS);
    fetch(pending.url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(pending.body),
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        window.clearTimeout(timeout);
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            handleResponse(pending, current, response.status, data);
          });
      })
      .catch(function () {
        window.clearTimeout(timeout);
        retryLater(pending, current, strings.retrying);
      });
  }

  // After a practice item (only there) the page says whether the answer was right and what the slice was, then
  // waits for Continue. The same element and the same steps for a real and a synthetic slice: only the words
  // (and the colour that goes with right / wrong) differ.
  function showFeedback(kind, nextUrl) {
    var feedback = byTestId("practice-feedback");
    var answered = rating.asksChoice ? state.choice : ratingLeaning(state.rating) || "indeterminable";
    var outcome = answered === "indeterminable" ? "undecided" : answered === kind ? "right" : "wrong";
    var outcomeText = { right: strings.feedbackRight, wrong: strings.feedbackWrong, undecided: strings.feedbackUndecided };
    setSending(false);
    showStatus(strings.saved, "saved");
    feedback.dataset.slice = kind;
    feedback.dataset.outcome = outcome;
    byTestId("practice-outcome").textContent = outcomeText[outcome];
    byTestId("practice-slice").textContent = kind === "real" ? strings.feedbackReal : strings.feedbackSynthetic;
    state.feedbackNext = nextUrl;
    submitButton.disabled = false;
    submitButton.firstChild.textContent = strings["continue"] + " ";
    choiceButtons.concat(ratingButtons).forEach(function (button) {
      button.disabled = true;
    });
    if (ratingSlider) {
      ratingSlider.disabled = true;
    }
  }

  function retryLater(pending, current, text) {
    showStatus(text, "retrying");
    state.retryTimer = window.setTimeout(function () {
      state.retryTimer = null;
      send(pending, current);
    }, state.retryDelay);
    state.retryDelay = Math.min(MAX_RETRY_DELAY_MS, state.retryDelay * 2);
  }

  function handleResponse(pending, current, status, data) {
    state.retryDelay = 1000;
    if (status === 200) {
      storageRemove(pendingKey);
      if (current && config.practice && data.feedback) {
        storageRemove(draftKey);
        showFeedback(data.feedback, data.next_url);
        return;
      }
      if (current) {
        storageRemove(draftKey);
        showStatus(strings.saved, "saved");
        window.location.assign(data.next_url);
      } else {
        setSending(false);
        showStatus("", "idle");
      }
      return;
    }
    if (status === 403) {
      // Signed out, or the form's security token is stale: keep the answer and send it once signed in again.
      setSending(false);
      showStatus(strings.sessionEnded, "error");
      return;
    }
    if (status >= 500 || status === 0 || status === 429) {
      retryLater(pending, current, strings.retrying);
      return;
    }
    // The server will never accept this submission (already answered elsewhere, closed, invalid): drop it.
    storageRemove(pendingKey);
    setSending(false);
    showStatus(data.error || strings.notSaved, "error");
    if (status === 409 && data.next_url) {
      storageRemove(draftKey);
      window.setTimeout(function () {
        window.location.assign(data.next_url);
      }, 2500);
    }
  }

  submitButton.addEventListener("click", submit);
  if (previousButton) {
    previousButton.disabled = !config.previousUrl;
    previousButton.addEventListener("click", function () {
      if (config.previousUrl) {
        window.location.assign(config.previousUrl);
      }
    });
  }
  if (config.position === config.total && !config.practice) {
    submitButton.firstChild.textContent = strings.saveAndFinish + " ";
  }

  window.addEventListener("online", function () {
    var pending = storageGet(pendingKey);
    if (pending && state.retryTimer !== null) {
      state.retryDelay = 1000;
      send(pending, pending.itemId === config.itemId);
    }
  });
  window.addEventListener("beforeunload", function (event) {
    if (storageGet(pendingKey) && state.sending) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // ---------------------------------------------------------------------------------------------------
  // Keyboard

  var CHOICE_KEYS = { r: "real", s: "synthetic", i: "indeterminable" };

  // Links, the help toggle and buttons other than the answer buttons keep their own Enter.
  function ownsEnter(target) {
    var tag = target && target.tagName;
    if (tag === "A" || tag === "SUMMARY") {
      return true;
    }
    return tag === "BUTTON" && !target.dataset.choice && target !== submitButton;
  }

  document.addEventListener("keydown", function (event) {
    var tag = event.target && event.target.tagName;
    var onSlider = ratingSlider !== null && event.target === ratingSlider;
    var typing = event.target === reasonBox || (tag === "INPUT" && !onSlider) || tag === "SELECT";
    if (typing) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        submit();
      } else if (event.key === "Escape") {
        reasonBox.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (event.shiftKey && rating.scale !== "none") {
      var digit = /^Digit([1-5])$/.exec(event.code || "");
      if (digit) {
        event.preventDefault();
        setRating(ratingForDigit(Number(digit[1])));
        return;
      }
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();
        stepRating(event.key === "ArrowRight" ? 1 : -1);
        return;
      }
    }
    if (onSlider && /^Arrow|^Home$|^End$|^Page/.test(event.key)) {
      return; // the focused slider moves itself
    }
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    var handled = true;
    if (presetFor(key)) {
      applyPreset(key);
    } else if (key === "v") {
      toggleInvert();
    } else if (key === "0" || key === "Escape") {
      resetView();
    } else if (CHOICE_KEYS[key] && rating.asksChoice && state.feedbackNext === null) {
      setChoice(CHOICE_KEYS[key]);
    } else if (key === "Enter" && !ownsEnter(event.target)) {
      submit();
    } else if (key === "+" || key === "=") {
      zoomBy(1.25);
    } else if (key === "-" || key === "_") {
      zoomBy(1 / 1.25);
    } else if (key === "p" && config.previousUrl) {
      window.location.assign(config.previousUrl);
    } else if (isStack && (key === "ArrowUp" || key === "ArrowDown" || key === "PageUp" || key === "PageDown")) {
      stepSlice(key === "ArrowDown" || key === "PageDown" ? 1 : -1);
    } else if (key === "ArrowLeft" || key === "ArrowRight" || key === "ArrowUp" || key === "ArrowDown") {
      var step = 20;
      state.panX += key === "ArrowLeft" ? -step : key === "ArrowRight" ? step : 0;
      state.panY += key === "ArrowUp" ? -step : key === "ArrowDown" ? step : 0;
      draw();
    } else if (slabViewer !== null && slabViewer.handleKey(key)) {
      // a key of the slab viewer
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });

  // ---------------------------------------------------------------------------------------------------
  // Start: restore a saved answer or draft, send any answer still waiting, load the pixels.

  if (config.answer) {
    reasonBox.value = config.answer.reason;
    setChoice(config.answer.choice, false);
    setRating(config.answer.rating === undefined ? null : config.answer.rating, false);
  }
  var draft = storageGet(draftKey);
  if (draft) {
    reasonBox.value = draft.reason || "";
    setChoice(draft.choice || null, false);
    setRating(typeof draft.rating === "number" ? draft.rating : null, false);
  }
  var waiting = storageGet(pendingKey);
  if (waiting && waiting.body) {
    if (waiting.itemId === config.itemId) {
      reasonBox.value = waiting.body.reason;
      setChoice(waiting.body.choice, false);
      setRating(typeof waiting.body.rating === "number" ? waiting.body.rating : null, false);
      send(waiting, true);
    } else {
      send(waiting, false);
    }
  }
  canvas.dataset.loaded = "false";
  canvas.dataset.windowChanged = "false";
  canvas.dataset.inverted = "false";
  // Slab items: the coronal and sagittal views beside this one (slab_viewer.js, loaded before this file).
  if (config.slab && window.BlindreadSlabViewer) {
    slabViewer = window.BlindreadSlabViewer.attach({
      config: config,
      state: state,
      canvas: canvas,
      context: context,
      draw: draw,
      setWindow: setWindow,
      zoomBy: zoomBy,
      showSlice: showSlice,
      axialPlace: function () {
        var scale = scaleOnCanvas();
        var ratio = window.devicePixelRatio || 1;
        return {
          scale: scale,
          x: canvas.width / 2 + state.panX * ratio - (matrix * scale) / 2,
          y: canvas.height / 2 + state.panY * ratio - (matrix * scale) / 2,
        };
      },
    });
  }
  showSlicePosition();
  draw();
  loadPixels(0);
})();
