/*
 * Blindread reader page: time-limited exposure (docs/reader_page.md, "Time-limited exposure").
 *
 * With config.exposure.mode "fixed" or "staircase", the item's image is shown for config.exposure.requestedMs
 * (decided by the server), then a noise mask, then the question:
 * - the payload is fetched and decoded, and the image rendered off screen, before the clock starts (reader.js);
 * - the image is drawn in one requestAnimationFrame callback and the mask in the first callback at least the
 *   requested time minus half a frame later; the measured exposure is the difference of those two callbacks'
 *   timestamps: from the first frame painted with the image to the first painted with the mask;
 * - the mask is uniform grey-level noise of the image's size (matrix x matrix, drawn where the image was), from a
 *   seed of the survey (config.exposure.maskSeed): the same for every item, whatever it shows;
 * - window, zoom, pan, invert, the HU readout and every key but the answer's are off on the item; the answer
 *   buttons wait for the mask.
 * With mode "off" nothing changes: the image stays on screen and every tool works.
 */
(function () {
  "use strict";

  // A small seeded generator (mulberry32): the same mask for the same seed in every browser.
  function generator(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function maskCanvas(matrix, seed) {
    var mask = document.createElement("canvas");
    mask.width = matrix;
    mask.height = matrix;
    var maskContext = mask.getContext("2d");
    var data = maskContext.createImageData(matrix, matrix);
    var next = generator(seed);
    for (var j = 0; j < data.data.length; j += 4) {
      var grey = Math.floor(next() * 256);
      data.data[j] = grey;
      data.data[j + 1] = grey;
      data.data[j + 2] = grey;
      data.data[j + 3] = 255;
    }
    maskContext.putImageData(data, 0, 0);
    return mask;
  }

  // The tools' keys (presets 1-9, invert, reset, zoom, pan, previous); answer keys stay, once the mask is up.
  var TOOL_KEY = /^([0-9vVpP+=_-]|Escape|Arrow(Up|Down|Left|Right)|Page(Up|Down))$/;
  var TOOL_BUTTONS = '[data-preset], [data-testid="zoom-in"], [data-testid="zoom-out"], [data-testid="drag-mode"], ' +
    '[data-testid="invert"], [data-testid="reset-view"]';
  var ANSWER_BUTTONS = '[data-choice], [data-rating], [data-testid="rating-slider"]';
  var SUBMIT = '[data-testid="submit-answer"]';

  function create(settings, canvas, matrix) {
    var active = settings && (settings.mode === "fixed" || settings.mode === "staircase");
    var phase = active ? "waiting" : "off"; // waiting -> image -> masked
    var measured = null;
    var mask = null;

    function setPhase(next) {
      phase = next;
      canvas.dataset.exposure = next;
    }

    function each(selector, action) {
      Array.prototype.forEach.call(document.querySelectorAll(selector), action);
    }

    if (active) {
      setPhase("waiting");
      mask = maskCanvas(matrix, settings.maskSeed);
      each(TOOL_BUTTONS, function (button) {
        button.disabled = true;
      });
      each(ANSWER_BUTTONS, function (control) {
        control.disabled = true;
      });
      // Capturing on the window stops the reader's own handlers from seeing tool gestures and keys.
      ["pointerdown", "pointermove", "pointerup", "wheel", "contextmenu", "dblclick"].forEach(function (type) {
        window.addEventListener(
          type,
          function (event) {
            if (event.target === canvas) {
              event.stopPropagation();
              event.preventDefault();
            }
          },
          { capture: true, passive: false }
        );
      });
      // The save button keeps reader.js's state; a click on it before the mask is not an answer yet.
      window.addEventListener(
        "click",
        function (event) {
          if (phase !== "masked" && event.target && event.target.closest && event.target.closest(SUBMIT)) {
            event.stopPropagation();
            event.preventDefault();
          }
        },
        true
      );
      window.addEventListener(
        "keydown",
        function (event) {
          var tag = event.target && event.target.tagName;
          if (tag === "TEXTAREA" || (tag === "INPUT" && event.target.type !== "range")) {
            return;
          }
          var ratingKey = event.shiftKey && /^(Digit[1-5]|ArrowLeft|ArrowRight)$/.test(event.code || event.key);
          if (phase !== "masked" || (TOOL_KEY.test(event.key) && !ratingKey)) {
            event.stopPropagation();
            event.preventDefault();
          }
        },
        true
      );
    }

    // What the viewer draws where the image goes (the canvas' transform already set by reader.js).
    function paint(context, image) {
      if (phase === "off" || phase === "image") {
        context.drawImage(image, 0, 0);
      } else if (phase === "masked") {
        context.drawImage(mask, 0, 0);
      }
    }

    // Show the image (already rendered off screen) for the requested time, then the mask; `redraw` paints the
    // viewer, `done` is called once the mask is up with the measured exposure (ms).
    function start(redraw, done) {
      if (!active) {
        redraw();
        done(null);
        return;
      }
      var requested = settings.requestedMs;
      var frameMs = 1000 / 60;
      var last = null;
      var shownAt = null;
      function frame(now) {
        if (last !== null && now > last) {
          frameMs = 0.8 * frameMs + 0.2 * (now - last); // the display's frame interval, as it runs
        }
        last = now;
        if (shownAt === null) {
          setPhase("image");
          redraw();
          shownAt = now;
        } else if (now - shownAt >= requested - frameMs / 2) {
          setPhase("masked");
          redraw();
          measured = Math.round((now - shownAt) * 10) / 10;
          canvas.dataset.exposureMs = String(measured);
          each(ANSWER_BUTTONS, function (control) {
            control.disabled = false;
          });
          done(measured);
          return;
        }
        window.requestAnimationFrame(frame);
      }
      // Two frames first: the page is laid out and painted black before the image's frame.
      window.requestAnimationFrame(function () {
        window.requestAnimationFrame(frame);
      });
    }

    return {
      active: active,
      paint: paint,
      start: start,
      measuredMs: function () {
        return measured;
      },
      showsImage: function () {
        return phase === "off" || phase === "image";
      },
    };
  }

  window.BlindreadExposure = { create: create };
})();
