/*
 * Blindread slab viewer: the coronal and sagittal reformats of a slab item beside the axial view of reader.js.
 *
 * A slab's payload is the stack reader.js already decodes (n axial planes, inferior first); reader.js scrolls the
 * axial view through it and owns the window, zoom, pan, invert and the answer. This file adds, through the hook
 * reader.js calls (window.BlindreadSlabViewer.attach):
 *   - the coronal plane through the cross-hair's row and the sagittal plane through its column, drawn from the
 *     same decoded planes with the same grey-level table (one window / level for all views), superior at the top,
 *     at the slab's true aspect (the z spacing against the in-plane mm per pixel, both the survey's);
 *   - linked cross-hairs: a click or tap on a reformat moves the axial plane and the other reformat's plane there,
 *     a double click on the axial view moves both reformats' planes; the wheel over a reformat moves its plane;
 *   - dragging on a reformat changes the window as on the axial view (or pans, in pan mode); zoom is shared;
 *   - on narrow screens one reformat beside the axial view, C (or the switch button) for the other;
 *   - the views used (in the order first used, axial first) and the seconds each was the active view (the one
 *     last pointed at, touched or switched to), counted while the page is visible; reader.js sends them with
 *     the answer. Nothing here differs between items but the pixels.
 */
(function () {
  "use strict";

  var VIEWS = ["axial", "coronal", "sagittal"];

  function attach(api) {
    var config = api.config;
    var state = api.state;
    var slab = config.slab;
    var matrix = config.matrix;
    var planes = config.stack.slices;
    var centre = config.stack.k;
    var aspect = slab.spacingMm / slab.mmPerPixel; // displayed rows per plane, in in-plane pixels
    var viewer = document.querySelector('[data-testid="viewer"]');
    var canvases = {
      coronal: document.querySelector('[data-testid="coronal-canvas"]'),
      sagittal: document.querySelector('[data-testid="sagittal-canvas"]'),
    };
    var switchButton = document.querySelector('[data-testid="switch-reformat"]');
    var cross = { row: Math.floor(matrix / 2), column: Math.floor(matrix / 2) };
    var clock = { view: "axial", since: null, ms: { axial: 0, coronal: 0, sagittal: 0 }, used: ["axial"] };
    var buffers = {};
    ["coronal", "sagittal"].forEach(function (view) {
      var offscreen = document.createElement("canvas");
      offscreen.width = matrix;
      offscreen.height = planes;
      var offscreenContext = offscreen.getContext("2d");
      buffers[view] = {
        canvas: offscreen,
        context: offscreenContext,
        image: offscreenContext.createImageData(matrix, planes),
      };
    });

    // --- time in each view -------------------------------------------------------------------------------

    function startClock() {
      if (clock.since === null && document.visibilityState === "visible" && state.slices !== null) {
        clock.since = performance.now();
      }
    }

    function stopClock() {
      if (clock.since !== null) {
        clock.ms[clock.view] += performance.now() - clock.since;
        clock.since = null;
      }
    }

    function activate(view) {
      if (view === clock.view) {
        startClock();
        return;
      }
      stopClock();
      clock.view = view;
      if (clock.used.indexOf(view) < 0) {
        clock.used.push(view);
      }
      viewer.dataset.activeView = view;
      viewer.dataset.viewsUsed = clock.used.join(" ");
      startClock();
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        startClock();
      } else {
        stopClock();
      }
    });

    function answerFields() {
      var running = clock.since === null ? 0 : performance.now() - clock.since;
      return {
        views_used: clock.used.slice(),
        seconds_per_view: VIEWS.map(function (view) {
          var ms = clock.ms[view] + (view === clock.view ? running : 0);
          return Math.round(ms / 10) / 100;
        }),
      };
    }

    // --- drawing -------------------------------------------------------------------------------------------

    function fit(canvas) {
      var rect = canvas.getBoundingClientRect();
      var ratio = window.devicePixelRatio || 1;
      var width = Math.max(1, Math.round(rect.width * ratio));
      var height = Math.max(1, Math.round(rect.height * ratio));
      if (canvas.width !== width || canvas.height !== height) {
        canvas.width = width;
        canvas.height = height;
      }
    }

    // Where a reformat's plane lies on its canvas: the scale of one in-plane pixel and the top-left corner.
    function layout(view) {
      var canvas = canvases[view];
      var ratio = window.devicePixelRatio || 1;
      var scale = Math.min(canvas.width / matrix, canvas.height / (planes * aspect)) * state.zoom;
      var pan = view === "coronal" ? state.panX : state.panY;
      return {
        scale: scale,
        x: canvas.width / 2 + pan * ratio - (matrix * scale) / 2,
        y: canvas.height / 2 - (planes * aspect * scale) / 2,
      };
    }

    function fillReformat(view) {
      var buffer = buffers[view];
      var pixels = buffer.image.data;
      var lut = state.lut;
      var low = config.huRange[0];
      var span = lut.length;
      var inverted = state.inverted;
      var j = 0;
      for (var row = 0; row < planes; row += 1) {
        var plane = state.slices[planes - 1 - row]; // superior at the top
        var start = view === "coronal" ? cross.row * matrix : cross.column;
        var step = view === "coronal" ? 1 : matrix;
        for (var x = 0, i = start; x < matrix; x += 1, i += step, j += 4) {
          var value = plane[i] - low;
          var grey = value < 0 ? lut[0] : value >= span ? lut[span - 1] : lut[value];
          if (inverted) {
            grey = 255 - grey;
          }
          pixels[j] = grey;
          pixels[j + 1] = grey;
          pixels[j + 2] = grey;
          pixels[j + 3] = 255;
        }
      }
      buffer.context.putImageData(buffer.image, 0, 0);
    }

    function crossLine(context, x0, y0, x1, y1) {
      context.beginPath();
      context.moveTo(x0, y0);
      context.lineTo(x1, y1);
      context.stroke();
    }

    function drawReformat(view) {
      var canvas = canvases[view];
      fit(canvas);
      var context = canvas.getContext("2d");
      context.setTransform(1, 0, 0, 1, 0, 0);
      context.fillStyle = "#000";
      context.fillRect(0, 0, canvas.width, canvas.height);
      if (state.slices === null || !state.lut) {
        return;
      }
      fillReformat(view);
      var place = layout(view);
      context.imageSmoothingEnabled = false;
      context.setTransform(place.scale, 0, 0, place.scale * aspect, place.x, place.y);
      context.drawImage(buffers[view].canvas, 0, 0);
      var across = view === "coronal" ? cross.column : cross.row;
      var level = planes - 1 - (state.offset + centre);
      context.setTransform(1, 0, 0, 1, 0, 0);
      context.strokeStyle = "rgba(255, 210, 0, 0.55)";
      context.lineWidth = 1;
      var x = place.x + (across + 0.5) * place.scale;
      var y = place.y + (level + 0.5) * place.scale * aspect;
      crossLine(context, x, place.y, x, place.y + planes * aspect * place.scale);
      crossLine(context, place.x, y, place.x + matrix * place.scale, y);
      canvas.dataset.plane = String(view === "coronal" ? cross.row : cross.column);
      canvas.dataset.loaded = "true";
    }

    function drawAxialCross() {
      var context = api.context;
      var place = api.axialPlace();
      context.save();
      context.setTransform(1, 0, 0, 1, 0, 0);
      context.strokeStyle = "rgba(255, 210, 0, 0.55)";
      context.lineWidth = 1;
      var x = place.x + (cross.column + 0.5) * place.scale;
      var y = place.y + (cross.row + 0.5) * place.scale;
      crossLine(context, x, place.y, x, place.y + matrix * place.scale);
      crossLine(context, place.x, y, place.x + matrix * place.scale, y);
      context.restore();
    }

    // Called by reader.js after every axial redraw (new plane, window, zoom, pan, invert, resize).
    function redraw() {
      if (state.slices !== null) {
        drawAxialCross();
      }
      drawReformat("coronal");
      drawReformat("sagittal");
      startClock();
    }

    // --- cross-hairs and planes --------------------------------------------------------------------------

    function setCross(row, column) {
      cross.row = Math.max(0, Math.min(matrix - 1, row));
      cross.column = Math.max(0, Math.min(matrix - 1, column));
      api.draw();
    }

    function pointOn(view, event) {
      var canvas = canvases[view];
      var rect = canvas.getBoundingClientRect();
      var ratio = canvas.width / (rect.width || 1);
      var place = layout(view);
      return {
        across: Math.floor(((event.clientX - rect.left) * ratio - place.x) / place.scale),
        level: Math.floor(((event.clientY - rect.top) * ratio - place.y) / (place.scale * aspect)),
      };
    }

    function moveTo(view, event) {
      var point = pointOn(view, event);
      if (point.level >= 0 && point.level < planes) {
        api.showSlice(planes - 1 - point.level - centre);
      }
      if (view === "coronal") {
        setCross(cross.row, point.across);
      } else {
        setCross(point.across, cross.column);
      }
    }

    ["coronal", "sagittal"].forEach(function (view) {
      var canvas = canvases[view];
      var drag = null;
      canvas.addEventListener("pointerenter", function () {
        activate(view);
      });
      canvas.addEventListener("pointerdown", function (event) {
        activate(view);
        canvas.setPointerCapture(event.pointerId);
        drag = { x: event.clientX, y: event.clientY, moved: false, shift: event.shiftKey, button: event.button };
        event.preventDefault();
      });
      canvas.addEventListener("pointermove", function (event) {
        if (drag === null) {
          return;
        }
        var dx = event.clientX - drag.x;
        var dy = event.clientY - drag.y;
        if (!drag.moved && Math.hypot(dx, dy) < 4) {
          return;
        }
        drag.moved = true;
        drag.x = event.clientX;
        drag.y = event.clientY;
        if (state.dragMode === "pan" || drag.shift || drag.button === 1 || drag.button === 2) {
          if (view === "coronal") {
            state.panX += dx;
          } else {
            state.panY += dx;
          }
          api.draw();
        } else {
          var sensitivity = Math.max(1, state.width / 256);
          api.setWindow(state.width + dx * 2 * sensitivity, state.level - dy * sensitivity);
        }
      });
      function end(event) {
        if (drag !== null && !drag.moved && event.type === "pointerup") {
          moveTo(view, event);
        }
        drag = null;
      }
      canvas.addEventListener("pointerup", end);
      canvas.addEventListener("pointercancel", end);
      canvas.addEventListener("contextmenu", function (event) {
        event.preventDefault();
      });
      canvas.addEventListener(
        "wheel",
        function (event) {
          event.preventDefault();
          activate(view);
          if (event.ctrlKey) {
            api.zoomBy(event.deltaY < 0 ? 1.15 : 1 / 1.15);
            return;
          }
          var step = event.deltaY > 0 ? 1 : event.deltaY < 0 ? -1 : 0;
          if (view === "coronal") {
            setCross(cross.row + step, cross.column);
          } else {
            setCross(cross.row, cross.column + step);
          }
        },
        { passive: false }
      );
    });

    api.canvas.addEventListener("pointerenter", function () {
      activate("axial");
    });
    api.canvas.addEventListener("pointerdown", function () {
      activate("axial");
    });
    api.canvas.addEventListener("dblclick", function (event) {
      var rect = api.canvas.getBoundingClientRect();
      var ratio = api.canvas.width / (rect.width || 1);
      var place = api.axialPlace();
      setCross(
        Math.floor(((event.clientY - rect.top) * ratio - place.y) / place.scale),
        Math.floor(((event.clientX - rect.left) * ratio - place.x) / place.scale)
      );
    });

    // Narrow screens show one reformat beside the axial view: C or the button switches to the other.
    function switchReformat() {
      var next = viewer.dataset.reformat === "sagittal" ? "coronal" : "sagittal";
      viewer.dataset.reformat = next;
      if (switchButton) {
        switchButton.setAttribute("aria-pressed", String(next === "sagittal"));
      }
      activate(next);
      api.draw();
    }

    if (switchButton) {
      switchButton.addEventListener("click", switchReformat);
    }

    function handleKey(key) {
      if (key === "c") {
        switchReformat();
        return true;
      }
      return false;
    }

    viewer.dataset.reformat = "coronal";
    viewer.dataset.activeView = "axial";
    viewer.dataset.viewsUsed = "axial";
    return { redraw: redraw, answerFields: answerFields, handleKey: handleKey, cross: cross };
  }

  window.BlindreadSlabViewer = { attach: attach };
})();
