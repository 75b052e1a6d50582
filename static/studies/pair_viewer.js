/* 2AFC pair page: both slices of a pair side by side with linked window, level and zoom; "which one is real?"
 *
 * Both payloads are fetched at once through the same opaque item pixel URLs, in the page's left-right order (the
 * reader's frozen plan: the real side is random and balanced), so neither the markup nor the order of the requests
 * depends on which image is real. The answer (side, seconds from both images on screen, optional confidence and
 * reason) is posted as JSON to the pair's answer URL. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("pair-config").textContent);
  var strings = JSON.parse(document.getElementById("pair-strings").textContent);
  var matrix = config.matrix;
  var huMin = config.huRange[0];
  var huMax = config.huRange[1];
  var state = {
    width: config.defaultWindow.width,
    level: config.defaultWindow.level,
    zoom: 1,
    side: null,
    confidence: null,
    shownAt: null,
    saving: false,
  };
  var message = document.querySelector('[data-testid="viewer-message"]');
  var submit = document.querySelector('[data-testid="submit-answer"]');
  var status = document.querySelector('[data-testid="save-status"]');
  var views = config.images.map(function (image) {
    var canvas = document.querySelector('[data-testid="pair-canvas-' + image.side + '"]');
    var offscreen = document.createElement("canvas");
    offscreen.width = matrix;
    offscreen.height = matrix;
    return { image: image, canvas: canvas, offscreen: offscreen, hu: null };
  });

  function decode(buffer) {
    if (buffer.byteLength !== matrix * matrix * 2) {
      throw new Error("unexpected size");
    }
    var view = new DataView(buffer);
    var hu = new Int16Array(matrix * matrix);
    for (var i = 0; i < hu.length; i += 1) {
      hu[i] = view.getInt16(i * 2, true);
    }
    return hu;
  }

  function fetchPixels(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (!response.ok) {
        throw new Error("status " + response.status);
      }
      return response.arrayBuffer();
    });
  }

  function load(attempt) {
    message.textContent = strings.loading;
    message.hidden = false;
    // Both requests start together, in the page's left-right order; both images appear together.
    Promise.all(
      views.map(function (view) {
        return fetchPixels(view.image.pixelsUrl);
      })
    )
      .then(function (buffers) {
        views.forEach(function (view, index) {
          view.hu = decode(buffers[index]);
          view.canvas.dataset.loaded = "true";
        });
        message.hidden = true;
        render();
        state.shownAt = performance.now();
        updateSubmit();
      })
      .catch(function () {
        message.textContent = strings.loadFailed;
        window.setTimeout(function () {
          load(attempt + 1);
        }, Math.min(30000, 1000 * Math.pow(2, attempt)));
      });
  }

  function render() {
    var low = state.level - state.width / 2;
    views.forEach(function (view) {
      if (view.hu === null) {
        return;
      }
      var context = view.offscreen.getContext("2d");
      var imageData = context.createImageData(matrix, matrix);
      var pixels = imageData.data;
      for (var i = 0, j = 0; i < view.hu.length; i += 1, j += 4) {
        var value = Math.min(huMax, Math.max(huMin, view.hu[i]));
        var grey = Math.max(0, Math.min(255, Math.round(((value - low) / state.width) * 255)));
        pixels[j] = grey;
        pixels[j + 1] = grey;
        pixels[j + 2] = grey;
        pixels[j + 3] = 255;
      }
      context.putImageData(imageData, 0, 0);
    });
    draw();
  }

  function draw() {
    var ratio = window.devicePixelRatio || 1;
    views.forEach(function (view) {
      var canvas = view.canvas;
      var rect = canvas.getBoundingClientRect();
      var width = Math.max(1, Math.round(rect.width * ratio));
      var height = Math.max(1, Math.round(rect.height * ratio));
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
      var context = canvas.getContext("2d");
      context.setTransform(1, 0, 0, 1, 0, 0);
      context.fillStyle = "#000";
      context.fillRect(0, 0, width, height);
      if (view.hu === null) {
        return;
      }
      var scale = (Math.min(width, height) / matrix) * state.zoom;
      context.imageSmoothingEnabled = scale < 1;
      context.setTransform(scale, 0, 0, scale, width / 2 - (matrix * scale) / 2, height / 2 - (matrix * scale) / 2);
      context.drawImage(view.offscreen, 0, 0);
    });
    document.querySelector('[data-testid="window-width"]').textContent = String(Math.round(state.width));
    document.querySelector('[data-testid="window-level"]').textContent = String(Math.round(state.level));
    document.querySelector('[data-testid="zoom-level"]').textContent = String(Math.round(state.zoom * 100));
  }

  function setWindow(width, level) {
    state.width = Math.max(1, Math.min(5000, width));
    state.level = Math.max(-2000, Math.min(4000, level));
    render();
  }

  function setZoom(zoom) {
    state.zoom = Math.max(0.5, Math.min(8, zoom));
    draw();
  }

  function choose(side) {
    state.side = side;
    document.querySelectorAll("[data-testid^='choose-']").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.side === side));
    });
    updateSubmit();
  }

  function setConfidence(value) {
    if (!config.confidence) {
      return;
    }
    state.confidence = value;
    document.querySelectorAll(".rating-choice").forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.rating) === value));
    });
  }

  function updateSubmit() {
    submit.disabled = state.side === null || state.shownAt === null || state.saving;
  }

  function csrfToken() {
    var input = document.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function save() {
    if (state.side === null) {
      status.textContent = strings.chooseFirst;
      return;
    }
    if (state.saving || state.shownAt === null) {
      return;
    }
    state.saving = true;
    updateSubmit();
    status.textContent = strings.saving;
    var body = {
      side: state.side,
      seconds: Math.max(0, (performance.now() - state.shownAt) / 1000),
      reason: document.getElementById("reason").value,
    };
    if (config.confidence && state.confidence !== null) {
      body.confidence = state.confidence;
    }
    fetch(config.answerUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        return response.json().then(function (data) {
          if (data.next_url && (response.ok || response.status === 409)) {
            window.location.assign(data.next_url);
            return;
          }
          throw new Error(data.error || strings.notSaved);
        });
      })
      .catch(function (error) {
        state.saving = false;
        updateSubmit();
        status.textContent = error && error.message ? error.message : strings.notSaved;
      });
  }

  // Drag on either image windows both (left/right = width, up/down = level); the wheel zooms both.
  views.forEach(function (view) {
    var drag = null;
    view.canvas.addEventListener("pointerdown", function (event) {
      drag = { x: event.clientX, y: event.clientY, width: state.width, level: state.level };
      view.canvas.setPointerCapture(event.pointerId);
    });
    view.canvas.addEventListener("pointermove", function (event) {
      if (drag !== null) {
        setWindow(drag.width + (event.clientX - drag.x) * 2, drag.level + (event.clientY - drag.y) * 2);
      }
    });
    view.canvas.addEventListener("pointerup", function () {
      drag = null;
    });
    view.canvas.addEventListener(
      "wheel",
      function (event) {
        event.preventDefault();
        setZoom(state.zoom * (event.deltaY < 0 ? 1.1 : 1 / 1.1));
      },
      { passive: false }
    );
  });
  document.querySelectorAll("[data-testid^='choose-']").forEach(function (button) {
    button.addEventListener("click", function () {
      choose(button.dataset.side);
    });
  });
  document.querySelectorAll(".rating-choice").forEach(function (button) {
    button.addEventListener("click", function () {
      setConfidence(Number(button.dataset.rating));
    });
  });
  document.querySelectorAll(".preset").forEach(function (button) {
    button.addEventListener("click", function () {
      var preset = config.presets[Number(button.dataset.preset) - 1];
      setWindow(preset.width, preset.level);
    });
  });
  document.querySelector('[data-testid="zoom-in"]').addEventListener("click", function () {
    setZoom(state.zoom * 1.25);
  });
  document.querySelector('[data-testid="zoom-out"]').addEventListener("click", function () {
    setZoom(state.zoom / 1.25);
  });
  document.querySelector('[data-testid="reset-view"]').addEventListener("click", function () {
    state.zoom = 1;
    setWindow(config.defaultWindow.width, config.defaultWindow.level);
  });
  submit.addEventListener("click", save);
  document.addEventListener("keydown", function (event) {
    if (event.target && event.target.tagName === "TEXTAREA") {
      return;
    }
    var key = event.key;
    if (event.shiftKey && /^Digit[1-5]$/.test(event.code)) {
      setConfidence(Number(event.code.slice(5)));
    } else if (key === "l" || key === "L" || key === "1") {
      choose("left");
    } else if (key === "r" || key === "R" || key === "2") {
      choose("right");
    } else if (key === "+" || key === "=") {
      setZoom(state.zoom * 1.25);
    } else if (key === "-") {
      setZoom(state.zoom / 1.25);
    } else if (key === "0") {
      state.zoom = 1;
      setWindow(config.defaultWindow.width, config.defaultWindow.level);
    } else if (key === "Enter") {
      save();
    } else {
      return;
    }
    event.preventDefault();
  });
  window.addEventListener("resize", draw);
  load(0);
})();
