"""The parts of docs/architecture.md that are read off the code, so they cannot drift from it: the layers (from the
import contracts in pyproject.toml) and the job kinds (from the models that subclass jobs.models.Job).

    .venv/bin/python scripts/architecture.py          # rewrite the generated blocks of docs/architecture.md
    .venv/bin/python scripts/architecture.py --check  # exit 1 if they differ from the code

tests/test_architecture_doc.py runs the check.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.DOTALL)


def import_contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def layers_block() -> str:
    """The layers contract drawn top to bottom, siblings on one line."""
    layers = next(contract for contract in import_contracts() if contract["type"] == "layers")["layers"]
    lines = ["```"]
    for index, layer in enumerate(layers):
        lines.append("   " + "   |   ".join(name.strip() for name in layer.split("|")))
        if index < len(layers) - 1:
            lines.append("   v")
    lines.append("```")
    pure = next(
        c for c in import_contracts() if c["type"] == "forbidden" and "django" in c["forbidden_modules"]
    )
    lines += [
        "",
        "Pure modules and packages (no Django, no Celery): "
        + ", ".join(f"`{name}`" for name in sorted(pure["source_modules"])) + ".",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def job_kinds_block() -> str:
    """One row per concrete job kind: its model, audit verb prefix, queue, runner and progress unit."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from jobs.services import job_models

    rows = ["| job | audit verbs | queue | runner | counts |", "|---|---|---|---|---|"]
    for model in sorted(job_models(), key=lambda m: m._meta.label):
        queue = model.queue
        if not isinstance(queue, str):  # a field: the queue is chosen per job
            queue = f"per job: `{model._meta.get_field('queue').default}`, the CNN on `MACHINE_OBSERVER_CNN_QUEUE`"
        else:
            queue = f"`{queue}`"
        rows.append(
            f"| `{model._meta.label}` | `{model.job_kind}.*` | {queue} | `{model.runner}` | {model.progress_unit} |"
        )
    return "\n".join(rows) + "\n"


GENERATORS = {"layers": layers_block, "job-kinds": job_kinds_block}


def render(text: str) -> str:
    """The document with every generated block made anew."""

    def fill(match: re.Match) -> str:
        return match.group(1) + GENERATORS[match.group("name")]() + match.group(4)

    return BLOCK.sub(fill, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/architecture.md is out of date")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    current = DOC.read_text()
    fresh = render(current)
    if args.check:
        if fresh != current:
            print("docs/architecture.md is out of date: run scripts/architecture.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
