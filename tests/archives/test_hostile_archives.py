"""Hostile and broken archives: import_study refuses each with one line, stores nothing, and stays within bounded
memory. A 1 MB zip of 1 GiB of zeros is refused from what its entries declare, before a byte is inflated; with the
caps raised so far that it is read, it is streamed (peak memory measured by /usr/bin/time -v in a process of its
own). Deep or oversized JSON, numbers too large for their field, wrong types, bad times, payloads of the wrong size,
unsafe names and a lying manifest are each one line."""

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from archives.export import build_archive
from archives.format import FORMAT_VERSION, MANIFEST, read_archive, write_archive
from studies.models import Answer, AnswerRevision, Item, Survey
from tests.archives.test_archive import answered_and_closed, rezip
from tests.archives.test_archive_design import renumbered
from tests.conftest import stored_files

ROOT = Path(__file__).resolve().parents[2]
GiB = 1 << 30
MiB = 1 << 20
PEAK_MEMORY_LIMIT_KB = 500 * 1024
BOMB_MEMBER = "surveys/01/items/bomb.i16"


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """A zip of about 1 MB whose one listed member inflates to 1 GiB of zeros (its checksum and size declared)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    zeros = bytes(MiB)
    digest = hashlib.sha256()
    for _ in range(GiB // MiB):
        digest.update(zeros)
    manifest = {
        "format": FORMAT_VERSION,
        "surveys": [],
        "files": {BOMB_MEMBER: {"sha256": digest.hexdigest(), "bytes": GiB}},
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest))
        with archive.open(BOMB_MEMBER, "w", force_zip64=True) as member:
            for _ in range(GiB // MiB):
                member.write(zeros)
    assert path.stat().st_size < 2 * MiB
    return path


def import_in_a_process_of_its_own(
    path: Path, media_root: Path, **settings_env
) -> tuple[int, list[str], int]:
    """Run `manage.py import_study path` under /usr/bin/time -v against the test database: its exit status, the
    lines it wrote to stderr (time's report left out) and its peak memory (maximum resident set size, kB)."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        url = f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(media_root),
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        **{name: str(value) for name, value in settings_env.items()},
    }
    run = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "manage.py", "import_study", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
    print(f"import_study {path.name} {settings_env or ''}: peak {peak} kB")  # shown with pytest -s
    report_starts = run.stderr.index("\tCommand being timed")
    lines = [
        line
        for line in run.stderr[:report_starts].splitlines()
        if line.strip() and not line.startswith("Command exited with non-zero status")
    ]
    return run.returncode, lines, peak


@pytest.mark.django_db(transaction=True)
def test_a_zip_of_a_gibibyte_of_zeros_is_refused_unread_in_one_line_under_500_mb(bomb, media_root):
    code, lines, peak = import_in_a_process_of_its_own(bomb, media_root)
    assert code == 1
    assert len(lines) == 1, lines
    assert f"{BOMB_MEMBER} unpacks to {GiB} bytes; at most {512 * MiB} are read per file" in lines[0]
    assert peak < PEAK_MEMORY_LIMIT_KB, f"peak memory {peak} kB"
    assert not Survey.objects.exists() and not stored_files(media_root)


@pytest.mark.django_db(transaction=True)
def test_with_the_caps_raised_the_gibibyte_is_streamed_through_its_checksum_and_memory_stays_bounded(
    bomb, media_root
):
    code, lines, peak = import_in_a_process_of_its_own(
        bomb,
        media_root,
        ARCHIVE_MAX_MEMBER_BYTES=2 * GiB,
        ARCHIVE_MAX_TOTAL_BYTES=2 * GiB,
        ARCHIVE_MAX_COMPRESSION_RATIO=10**6,
    )
    assert code == 1
    assert len(lines) == 1 and "the manifest names no surveys" in lines[0], lines
    assert peak < PEAK_MEMORY_LIMIT_KB, f"peak memory {peak} kB"
    assert not Survey.objects.exists() and not stored_files(media_root)


@pytest.mark.django_db
def test_the_compression_ratio_is_capped_before_anything_is_inflated(tmp_path, media_root):
    content = write_archive({"statistics/report.pdf": bytes(4 * MiB)}, metadata={"surveys": ["x"]})
    path = tmp_path / "ratio.zip"
    path.write_bytes(content)
    with pytest.raises(CommandError) as caught:
        call_command("import_study", str(path))
    assert re.search(
        r"statistics/report.pdf is compressed \d+ to 1; at most 200 to 1 is read", str(caught.value)
    )
    assert not stored_files(media_root)


def importable(make_survey, join) -> tuple[dict[str, bytes], dict]:
    """The files and manifest metadata of an archive this database would import (its survey renamed here, its
    items renumbered in the archive), for a test to spoil one value of."""
    survey = answered_and_closed(make_survey, join, per_side=2)
    archive = read_archive(build_archive([survey]))
    Survey.objects.filter(pk=survey.pk).update(name="Renamed here")
    metadata = {k: v for k, v in archive.manifest.items() if k not in ("format", "files")}
    return renumbered(dict(archive.files), archive), metadata


def with_table(files, name, change) -> dict[str, bytes]:
    return {**files, name: json.dumps(change(json.loads(files[name]))).encode()}


def nested(depth: int):
    value = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def spoiled(files: dict[str, bytes]) -> dict[str, tuple[dict[str, bytes], str]]:
    folder = "surveys/01"
    item = json.loads(files[f"{folder}/items.json"])[0]
    described = json.loads(files[f"{folder}/survey.json"])

    def first_row(table, **values):
        return with_table(files, f"{folder}/{table}", lambda rows: [{**rows[0], **values}, *rows[1:]])

    def survey(**values):
        return with_table(files, f"{folder}/survey.json", lambda row: {**row, **values})

    answers = files[f"{folder}/answers.json"].decode()
    seconds = re.search(r'"seconds_on_slice": ([0-9.]+)', answers)

    def with_seconds(text):
        return {**files, f"{folder}/answers.json": answers.replace(seconds.group(0), text, 1).encode()}

    return {
        "a seed of 10**30": (
            survey(seed=10**30),
            f"{folder}/survey.json: seed: Ensure this value is less than",
        ),
        "a count of -3": (survey(real_count=-3), f"{folder}/survey.json: real_count: Ensure this value is"),
        "JSON nested 100000 deep": (
            {**files, f"{folder}/answers.json": b"[" * 100_000 + b"]" * 100_000},
            f"{folder}/answers.json is nested deeper than 32 levels",
        ),
        "JSON nested 40 deep": (
            survey(instructions=nested(40)),
            f"{folder}/survey.json is nested deeper than 32 levels",
        ),
        "a million objects": (
            {
                **files,
                f"{folder}/invitations.json": json.dumps([{"n": n} for n in range(1_000_001)]).encode(),
            },
            f"{folder}/invitations.json holds more than 1000000 objects and lists",
        ),
        "NaN": (
            with_seconds('"seconds_on_slice": NaN'),
            f"{folder}/answers.json is not valid JSON: NaN is not a number",
        ),
        "1e999": (
            with_seconds('"seconds_on_slice": 1e999'),
            f"{folder}/answers.json is not valid JSON: the number 1e999 is not finite",
        ),
        "a 5000-digit integer": (
            with_seconds('"seconds_on_slice": ' + "9" * 5000),
            f"{folder}/answers.json is not valid JSON: Exceeds the limit",
        ),
        "a word for a seed": (
            first_row("assignments.json", seed="many"),
            f"{folder}/assignments.json row 1: seed: “many” value must be an integer",
        ),
        "a time that is not one": (
            first_row("answers.json", created_at="yesterday"),
            f"{folder}/answers.json row 1: created_at: not a time with its time zone: 'yesterday'",
        ),
        "a time without its zone": (
            first_row("assignments.json", created_at="2026-01-01T10:00:00"),
            f"{folder}/assignments.json row 1: created_at: not a time with its time zone",
        ),
        "a key that is no UUID": (
            with_table(
                with_table(
                    files, f"{folder}/answers.json", lambda rows: [{**r, "client_key": "nope"} for r in rows]
                ),
                f"{folder}/revisions.json",
                lambda rows: [{**r, "client_key": "nope"} for r in rows],
            ),
            f"{folder}/answers.json row 1: client_key is not a UUID",
        ),
        "a list for a row": (
            with_table(files, f"{folder}/invitations.json", lambda rows: [[1, 2]]),
            f"the archive's tables are not as described: {folder}/invitations.json is not a list of objects",
        ),
        "a position of 10**400 mm": (
            first_row("items.json", source={**item["source"], "z_mm": 10**400}),
            f"{folder} does not hold a valid survey (OverflowError",
        ),
        "a truth of neither kind": (
            first_row("items.json", truth="both"),
            f"item {item['public_id']}: unknown truth 'both'",
        ),
        "a payload of the wrong size": (
            {
                **first_row("items.json", payload_sha256=hashlib.sha256(b"0123456789").hexdigest()),
                f"{folder}/{item['payload']}": b"0123456789",
            },
            f"item {item['public_id']}: its payload holds 10 bytes, not the",
        ),
        "a payload named by a list of 100000 names": (
            first_row("items.json", payload=["x"] * 100_000),
            f"the archive has no {folder}/['x', 'x', ",
        ),
        "a contrast of 'yes'": (
            survey(model_dataset={**described["model_dataset"], "contrast_enhanced": "yes"}),
            f"{folder}/survey.json: contrast_enhanced is not true, false or null",
        ),
        "a display policy of nonsense": (
            survey(display_policy={"matrix_size": "big"}),
            f"{folder}/survey.json: display_policy:",
        ),
    }


@pytest.mark.django_db
def test_every_malformed_value_is_one_line_and_nothing_is_stored(make_survey, join, tmp_path, media_root):
    files, metadata = importable(make_survey, join)
    counts = (
        Survey.objects.count(),
        Item.objects.count(),
        Answer.objects.count(),
        AnswerRevision.objects.count(),
    )
    stored = stored_files(media_root)
    for label, (bad_files, says) in spoiled(files).items():
        path = _write(tmp_path / "bad.zip", write_archive(bad_files, metadata=metadata))
        with pytest.raises(CommandError) as caught:
            call_command("import_study", str(path))
        message = str(caught.value)
        assert says in message, (label, message)
        assert "\n" not in message and len(message) < 600, label
        counts_after = (
            Survey.objects.count(),
            Item.objects.count(),
            Answer.objects.count(),
            AnswerRevision.objects.count(),
        )
        assert counts_after == counts, label
        assert stored_files(media_root) == stored, label
    # Unspoiled, the same archive imports: each refusal above was its spoiled value's.
    call_command("import_study", str(_write(tmp_path / "good.zip", write_archive(files, metadata=metadata))))
    assert Survey.objects.filter(name="Archived study").exists()


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.django_db
def test_a_broken_container_is_one_line(make_survey, join, tmp_path, media_root):
    files, metadata = importable(make_survey, join)
    content = write_archive(files, metadata=metadata)
    stored = stored_files(media_root)
    cases = {
        "cut short": (content[: len(content) - 200], "not a complete zip file"),
        "a dotted path": (rezip(content, add={"surveys/./x": b"x"}), "unsafe path in archive: 'surveys/./x'"),
        "a backslash path": (rezip(content, add={"surveys\\01\\x": b"x"}), "unsafe path in archive"),
        "a manifest that is a list": (rezip(content, manifest=lambda m: []), "manifest.json does not list"),
        "a manifest that lies about a size": (
            rezip(
                content,
                manifest=lambda m: {
                    **m,
                    "files": {**m["files"], "answers.csv": {**m["files"]["answers.csv"], "bytes": 3}},
                },
            ),
            "answers.csv is",
        ),
        "a manifest without checksums": (
            rezip(content, manifest=lambda m: {**m, "files": {name: {} for name in m["files"]}}),
            "manifest.json gives no SHA-256 for",
        ),
        "a manifest nested deep": (
            rezip(content, manifest=lambda m: {**m, "surveys": nested(100)}),
            "manifest.json is nested deeper than 32 levels",
        ),
    }
    for label, (bad, says) in cases.items():
        path = _write(tmp_path / "bad.zip", bad)
        with pytest.raises(CommandError) as caught:
            call_command("import_study", str(path))
        assert says in str(caught.value) and "\n" not in str(caught.value), (label, str(caught.value))
        assert not Survey.objects.filter(name="Archived study").exists(), label
        assert stored_files(media_root) == stored, label


@pytest.mark.django_db
def test_the_json_read_from_one_archive_is_capped_in_total(make_survey, join, tmp_path, media_root, settings):
    files, metadata = importable(make_survey, join)
    settings.ARCHIVE_MAX_JSON_TOTAL_BYTES = 4000
    path = _write(tmp_path / "big.zip", write_archive(files, metadata=metadata))
    with pytest.raises(CommandError, match="the archive's JSON files hold more than 4000 bytes together"):
        call_command("import_study", str(path))
    assert not Survey.objects.filter(name="Archived study").exists()
