"""How long the reader page takes to redraw a stack slice while the reader scrolls and changes the window.

The script makes a fresh PostgreSQL database, seeds an open stack survey there the way `load_readers.py` does
(phantom CT imported as real and as synthetic, `create_survey` with a stack of 2K+1 slices at the survey matrix,
the blinding audit, one invitation), collects the static files, starts gunicorn on 127.0.0.1 against it, joins
the survey in headless Debian Chromium (the browser tests' join helper) and reads the first item at each screen
size: desktop (1440 x 900) and a 1024 x 768 tablet (touch, device pixel ratio 2).

The page's code is not changed. Real input goes in through Playwright (wheel over the image, keys 1..5 for the
window presets, a primary-button drag for width/level) and the page is timed from outside with listeners added
to `window`: a capture-phase listener notes performance.now() before the page's own handler runs, a bubble-phase
one after it, so the difference is the page's whole synchronous redraw (lookup table, int16 -> RGBA, putImageData,
drawImage, read-outs). The bubble listener then reads back one pixel of the visible canvas, which makes Chromium
rasterise the queued drawing, and notes the time again ("to pixels"). A requestAnimationFrame loop records the
frame intervals meanwhile. Three scenarios of `--events` redraws each:

1. scroll: the wheel, down through the stack to its end and back up, again and again;
2. presets while scrolling: a preset key, then a wheel step, alternating;
3. drag while scrolling: the primary button held, a mouse move (width and level change) then a wheel step.

With `--slab MM` the survey reads slabs instead (`--slab-spacing`, default 2.5 mm; phantom volumes of 64 slices):
every wheel step, preset and drag then redraws the axial view and the coronal and sagittal reformats beside it
(slab_viewer.js), and the times are those of all three views.

    taskset -c 0,1 .venv/bin/python benchmarks/bench_viewer.py            # K=3 (7 slices), 512 x 512
    .venv/bin/python benchmarks/bench_viewer.py --slab 120 --matrix 512   # 49 planes, three views
    .venv/bin/python benchmarks/bench_viewer.py --events 400 --matrix 256 --json out.json

Everything stays on 127.0.0.1; the database is dropped and gunicorn stopped at the end. Chromium runs with the
browser tests' flags (no sandbox, no GPU), so the canvas is rasterised in software: a reader's GPU is faster.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load_readers import (  # noqa: E402
    create_database,
    drop_database,
    free_port,
    seed,
    start_gunicorn,
    wait_until_up,
)
from benchmarks.machine import describe_machine  # noqa: E402

FRAME_BUDGET_MS = 16.0
MISSED_FRAME_MS = 25.0
SCREENS = {
    "desktop 1440x900": {"viewport": {"width": 1440, "height": 900}},
    "tablet 1024x768": {
        "viewport": {"width": 1024, "height": 768},
        "has_touch": True,
        "is_mobile": True,
        "device_scale_factor": 2,
    },
}

# Listeners on window around the page's own handlers (which sit on the canvas and the document): capture runs
# before them, bubble after them. Only events that reach the canvas or the document are timed.
PROBE = """
() => {
  const canvas = document.querySelector('[data-testid="slice-canvas"]');
  const probe = { redraws: [], frames: [], started: null, running: false };
  window.__viewerProbe = probe;
  const watched = ['wheel', 'pointermove', 'keydown'];
  for (const type of watched) {
    window.addEventListener(type, (event) => {
      if (probe.running) { probe.started = performance.now(); }
    }, { capture: true, passive: true });
    window.addEventListener(type, (event) => {
      if (!probe.running || probe.started === null) { return; }
      const handled = performance.now();
      canvas.getContext('2d').getImageData(0, 0, 1, 1);
      const painted = performance.now();
      probe.redraws.push({
        type, js: handled - probe.started, toPixels: painted - probe.started,
        offset: canvas.dataset.sliceOffset,
        width: document.querySelector('[data-testid="window-width"]').textContent,
      });
      probe.started = null;
    }, { passive: true });
  }
  function frame(now) {
    if (probe.running) { probe.frames.push(now); }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
}
"""


def percentiles(values: list[float], *, over: float = FRAME_BUDGET_MS) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}

    def at(share):
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p95": round(at(0.95), 2),
        "max": round(ordered[-1], 2),
        "over": sum(1 for value in ordered if value > over),
    }


def wheel_steps(slices: int, events: int) -> list[int]:
    """+1 (next slice) until the last slice, then -1 until the first, repeated: `events` wheel steps from the
    centre slice, every one of which moves to another slice."""
    k = slices // 2
    steps, offset, direction = [], 0, 1
    while len(steps) < events:
        if not -k <= offset + direction <= k:
            direction = -direction
        offset += direction
        steps.append(direction)
    return steps


def run_scenario(page, name: str, events: int, slices: int) -> dict:
    box = page.get_by_test_id("slice-canvas").bounding_box()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(centre_x, centre_y)
    page.keyboard.press("0")  # the default view
    page.evaluate(
        "() => { const p = window.__viewerProbe; p.redraws = []; p.frames = []; p.running = true; }"
    )
    if name == "scroll":
        for direction in wheel_steps(slices, events):
            page.mouse.wheel(0, 100 * direction)
    elif name == "presets while scrolling":
        steps = wheel_steps(slices, events // 2)
        for number, direction in enumerate(steps):
            page.keyboard.press(str(1 + number % 5))
            page.mouse.wheel(0, 100 * direction)
    elif name == "drag while scrolling":
        steps = wheel_steps(slices, events // 2)
        page.mouse.down()
        x, y = centre_x, centre_y
        for number, direction in enumerate(steps):
            swing = 6 if (number // 10) % 2 == 0 else -6  # back and forth, staying over the image
            x, y = x + swing, y + swing / 2
            page.mouse.move(x, y)
            page.mouse.wheel(0, 100 * direction)
        page.mouse.up()
    else:
        raise ValueError(name)
    page.wait_for_timeout(100)  # the last frame
    probe = page.evaluate(
        "() => { const p = window.__viewerProbe; p.running = false; return {redraws: p.redraws, frames: p.frames}; }"
    )
    redraws = probe["redraws"]
    intervals = [b - a for a, b in zip(probe["frames"], probe["frames"][1:], strict=False)]
    return {
        "scenario": name,
        "events": {
            kind: sum(1 for r in redraws if r["type"] == kind) for kind in ("wheel", "keydown", "pointermove")
        },
        "slices_shown": sorted({int(r["offset"]) for r in redraws}),
        "widths_shown": len({r["width"] for r in redraws}),
        "redraw_js_ms": percentiles([r["js"] for r in redraws]),
        "redraw_to_pixels_ms": percentiles([r["toPixels"] for r in redraws]),
        # At 60 Hz a frame comes every 16.7 ms; an interval over 25 ms is at least one frame missed.
        "frame_interval_ms": percentiles(intervals, over=MISSED_FRAME_MS),
        "canvas_device_pixels": page.evaluate(
            "() => { const c = document.querySelector('[data-testid=\"slice-canvas\"]'); return [c.width, c.height]; }"
        ),
    }


def measure(item_url: str, storage_state: dict, events: int, slices: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from scripts.screenshots import launch_chromium

    results = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for screen, options in SCREENS.items():
                context = browser.new_context(storage_state=storage_state, **options)
                page = context.new_page()
                page.goto(item_url)
                page.wait_for_selector('[data-testid="slice-canvas"][data-loaded="true"]')
                page.evaluate(PROBE)
                for name in ("scroll", "presets while scrolling", "drag while scrolling"):
                    started_load = os.getloadavg()[0]
                    result = run_scenario(page, name, events, slices)
                    result.update(
                        screen=screen, load_1min=[round(started_load, 2), round(os.getloadavg()[0], 2)]
                    )
                    results.append(result)
                    print(format_row(result), flush=True)
                context.close()
            results.append({"chromium": browser.version})
        finally:
            browser.close()
    return results


def format_row(result: dict) -> str:
    js, pixels, frames = result["redraw_js_ms"], result["redraw_to_pixels_ms"], result["frame_interval_ms"]
    canvas = "x".join(str(side) for side in result["canvas_device_pixels"])
    return (
        f"{result['screen']:<17} {result['scenario']:<24} n={js['n']:<4} canvas {canvas:<9} | "
        f"js p50 {js['p50']:>5} p95 {js['p95']:>5} max {js['max']:>6} >16ms {js['over']:<3} | "
        f"to pixels p50 {pixels['p50']:>5} p95 {pixels['p95']:>5} max {pixels['max']:>6} >16ms {pixels['over']:<3} | "
        f"frames n={frames['n']} p50 {frames.get('p50')} p95 {frames.get('p95')} max {frames.get('max')} "
        f">25ms {frames.get('over')} | load {result['load_1min']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", type=int, default=3, metavar="K", help="Stack of 2K+1 slices (1..5)")
    parser.add_argument("--slab", type=int, default=0, metavar="MM", help="Slab reading: a slab this thick")
    parser.add_argument("--slab-spacing", type=float, default=2.5, metavar="MM", help="The slab's z spacing")
    parser.add_argument("--matrix", type=int, default=512, help="Survey display matrix (the page's pixels)")
    parser.add_argument("--events", type=int, default=240, help="Redraws per scenario and screen (>= 200)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", type=Path, help="Also write the results here")
    parser.add_argument(
        "--database-name",
        help="The throwaway database's name (default: blindread_viewer_<pid>); dropped at the end",
    )
    args = parser.parse_args()
    if not 1 <= args.stack <= 5:
        parser.error("--stack must be 1..5")

    workdir = Path(tempfile.mkdtemp(prefix="blindread-viewer-"))
    database = args.database_name or f"blindread_viewer_{os.getpid()}"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=create_database(args.database_url, database),
        BLINDREAD_VAR_DIR=str(workdir / "var"),
        STUDIES_SITE_URL=base_url,
        LOG_LEVEL="ERROR",
    )
    env.pop("DJANGO_DEBUG", None)
    os.environ.update(env)
    (workdir / "var" / "staticfiles").mkdir(parents=True)  # collectstatic fills it once the survey is seeded
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        from tests.e2e.reader import join_with_new_account

        slab = (args.slab, args.slab_spacing) if args.slab else None
        invitation = seed(workdir, 1, 2, args.matrix, base_url, args.stack, slab=slab)[0]
        slices = round(args.slab / args.slab_spacing) + 1 if slab else 2 * args.stack + 1
        call_command("collectstatic", interactive=False, verbosity=0)
        connections.close_all()
        server = start_gunicorn(port, 2, 1, env, workdir)
        wait_until_up(base_url, server)

        from playwright.sync_api import sync_playwright

        from scripts.screenshots import launch_chromium

        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            context = browser.new_context(**SCREENS["desktop 1440x900"])
            page = context.new_page()
            join_with_new_account(page, invitation, "bench-viewer")
            page.wait_for_selector('[data-testid="slice-canvas"][data-loaded="true"]')
            item_url, storage_state = page.url, context.storage_state()
            browser.close()
        print(f"reading {item_url} ({slices} slices of {args.matrix} x {args.matrix})", flush=True)
        print(f"machine: {describe_machine()}; load average at start: {os.getloadavg()}", flush=True)
        results = measure(item_url, storage_state, args.events, slices)
        uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(f"{results[-1]['chromium']}; uptime at the end: {uptime}")
        if args.json:
            args.json.write_text(
                json.dumps({"machine": describe_machine(), "uptime": uptime, "results": results}, indent=2)
            )
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        from django.db import connections

        connections.close_all()
        drop_database(args.database_url, database)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
