"""Imaging is the only door to images, for queries too: no module outside `imaging` filters, orders, selects or
reads values through a relation into imaging's tables by name (`slice__volume__patient`, `model__name`). Such
joins are selectors of imaging (`with_their_slices`, `dataset_name_contains`, `dataset_names_by_id`); a relation
on its own (`order_by("model")`, `model_dataset_id`) is fine, since imaging decides what it means.

import-linter sees imports only, so this reads every lookup the code spells: string constants and keyword names
in Python modules outside imaging (migrations and tests aside), resolved against every model of the project."""

import ast
from pathlib import Path

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

ROOT = Path(__file__).resolve().parents[2]
APPS_OUTSIDE_IMAGING = [
    "api",
    "archives",
    "audit",
    "config",
    "generation",
    "jobs",
    "metrics",
    "studies",
    "storage",
]
# Words that end a lookup without reading a field of the related table.
LOOKUP_ENDS = {"id", "pk", "in", "exact", "isnull"}


def _lookups_in(source: str):
    """(line, lookup) for every string constant and keyword name that looks like an ORM path `a__b`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lstrip("-")
            if "__" in text and text.replace("_", "").isalnum() and " " not in text:
                yield node.lineno, text
        elif isinstance(node, ast.keyword) and node.arg and "__" in node.arg:
            yield node.value.lineno, node.arg


def _reads_into_imaging(model, parts: list[str]) -> bool:
    """Whether the path, started at `model` (outside imaging), crosses a relation into imaging and goes on to a
    field of imaging's table."""
    current = model
    for position, part in enumerate(parts):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        related = getattr(field, "related_model", None)
        if related is None:
            return False
        rest = parts[position + 1 :]
        if related._meta.app_label == "imaging" and rest and rest[0] not in LOOKUP_ENDS:
            return True
        current = related
    return False


def violations() -> list[str]:
    outside = [m for m in apps.get_models() if m._meta.app_label != "imaging"]
    found = []
    for app in APPS_OUTSIDE_IMAGING:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line, lookup in _lookups_in(path.read_text()):
                parts = lookup.split("__")
                if any(_reads_into_imaging(model, parts) for model in outside):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {lookup}")
    return found


def test_no_module_outside_imaging_joins_into_imaging_tables_by_name():
    assert violations() == []


def test_the_check_finds_a_join_into_imaging_tables():
    # The check itself: the joins this rule replaced are found (lookups from items, metric results and synthetic
    # slices), while a relation on its own, an id and another app's own fields are not.
    outside = [m for m in apps.get_models() if m._meta.app_label != "imaging"]

    def flagged(lookup):
        return any(_reads_into_imaging(model, lookup.split("__")) for model in outside)

    assert flagged("slice__volume__dataset")
    assert flagged("model__name")
    assert flagged("output__volume__patient")
    assert flagged("item__survey__model_dataset__name")
    assert not flagged("item__survey__model_dataset_id")
    assert not flagged("model__in")
    assert not flagged("item__survey__name")
    assert sorted(_lookups_in('qs.filter(slice__volume__patient="x").order_by("-model__name")')) == [
        (1, "model__name"),
        (1, "slice__volume__patient"),
    ]
