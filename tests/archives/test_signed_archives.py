"""Signed study archives: `export_study --sign` signs the manifest with this site's Ed25519 key; an import verifies
the signature with a trusted key, refuses a tampered archive always and an unsigned or untrusted one when a verified
signature is required, and the imported survey shows its origin (in the command's output, on its admin page, in its
audit row). The key is never stored in the database or the archive."""

import base64
import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from archives.format import SIGNATURE, ArchiveRejected, read_archive, write_archive
from archives.models import StudyExport, SurveyOrigin
from archives.signing import (
    UNSIGNED,
    UNVERIFIED,
    VERIFIED,
    check_signature,
    new_signing_key,
    signing_key,
    trusted_keys,
)
from audit.models import AuditEvent
from studies.models import Survey
from tests.archives.test_archive import answered_and_closed
from tests.archives.test_archive_design import renumbered
from tests.conftest import stored_files

SITE = "hospital-a-2026"


@pytest.fixture
def site_key(settings):
    """This site signs with a fresh key."""
    key, private_text = new_signing_key(SITE)
    settings.ARCHIVE_SIGNING_KEY = private_text
    settings.ARCHIVE_SIGNING_KEY_ID = SITE
    return key, private_text


def exported(make_survey, join, tmp_path, *, sign: bool) -> bytes:
    survey = answered_and_closed(make_survey, join, per_side=2)
    path = tmp_path / "study.zip"
    options = {"sign": True} if sign else {}
    call_command("export_study", survey.name, out=str(path), stdout=io.StringIO(), **options)
    Survey.objects.filter(pk=survey.pk).update(name="Renamed here")  # so that this database may import it
    return path.read_bytes()


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def renumbered_keeping_signature(content: bytes, *, change=None) -> bytes:
    """The archive with new item ids (and `change` applied to its files), a manifest that matches its files again,
    and the original signature: what someone who changed a signed archive and fixed its checksums would make."""
    archive = read_archive(content)
    files = renumbered(dict(archive.files), archive)
    if change:
        files = change(files)
    metadata = {k: v for k, v in archive.manifest.items() if k not in ("format", "files")}
    rebuilt = members(write_archive(files, metadata=metadata))
    return zipped({**rebuilt, SIGNATURE: members(content)[SIGNATURE]})


def resigned_and_renumbered(content: bytes, key=None) -> bytes:
    """The archive with new item ids, signed again (by `key`, or unsigned)."""
    archive = read_archive(content)
    metadata = {k: v for k, v in archive.manifest.items() if k not in ("format", "files")}
    return write_archive(
        renumbered(dict(archive.files), archive), metadata=metadata, sign=key.sign if key else None
    )


def import_path(tmp_path, content: bytes, name="import.zip") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


@pytest.mark.django_db
def test_a_signed_export_imports_with_its_origin_verified_and_shown(
    make_survey, join, tmp_path, media_root, site_key, admin_user, client
):
    key, private_text = site_key
    content = exported(make_survey, join, tmp_path, sign=True)
    signature = json.loads(members(content)[SIGNATURE])
    assert signature["algorithm"] == "ed25519" and signature["key_id"] == SITE
    assert StudyExport.objects.get().signed_by == SITE
    out = io.StringIO()
    call_command("import_study", import_path(tmp_path, resigned_and_renumbered(content, key)), stdout=out)
    assert f"signed by key '{SITE}', verified" in out.getvalue()
    survey = Survey.objects.get(name="Archived study")
    origin = SurveyOrigin.objects.get(survey=survey)
    assert (origin.signature, origin.key_id) == (VERIFIED, SITE)
    event = AuditEvent.objects.get(verb="survey.imported", object_id=str(survey.pk))
    assert event.details["origin"] == f"signed by key '{SITE}', verified"
    client.force_login(admin_user)
    page = client.get(f"/admin/studies/survey/{survey.pk}/change/").content.decode()
    assert "Imported from" in page and f"signed by key &#x27;{SITE}&#x27;, verified" in page
    # The key is in the settings only: not in the archive, not in the database.
    raw_private = base64.b64decode(private_text)
    assert private_text.encode() not in content and raw_private not in content
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert private_text not in dump.getvalue()


@pytest.mark.django_db
def test_a_signed_archive_changed_after_signing_is_refused_in_one_line(
    make_survey, join, tmp_path, media_root, site_key
):
    content = exported(make_survey, join, tmp_path, sign=True)

    def more_correct_answers(files):
        answers = json.loads(files["surveys/01/answers.json"])
        answers[0]["reason"] = "changed after signing"
        revisions = json.loads(files["surveys/01/revisions.json"])
        for revision in revisions:
            if (revision["reader"], revision["item"], revision["revision"]) == (
                answers[0]["reader"],
                answers[0]["item"],
                answers[0]["revision_count"],
            ):
                revision["reason"] = "changed after signing"
        return {
            **files,
            "surveys/01/answers.json": json.dumps(answers).encode(),
            "surveys/01/revisions.json": json.dumps(revisions).encode(),
        }

    tampered = renumbered_keeping_signature(content, change=more_correct_answers)
    stored = stored_files(media_root)
    with pytest.raises(CommandError) as caught:
        call_command("import_study", import_path(tmp_path, tampered))
    assert f"the archive's signature by key '{SITE}' does not verify: it was changed after signing" in str(
        caught.value
    )
    assert "\n" not in str(caught.value)
    assert not Survey.objects.filter(name="Archived study").exists() and stored_files(media_root) == stored


@pytest.mark.django_db
def test_unsigned_and_untrusted_archives_import_as_such_unless_a_verified_signature_is_required(
    make_survey, join, tmp_path, media_root, settings
):
    content = exported(make_survey, join, tmp_path, sign=False)
    assert SIGNATURE not in members(content)
    elsewhere, _ = new_signing_key("somewhere-else")
    unsigned = resigned_and_renumbered(content)
    untrusted = resigned_and_renumbered(content, elsewhere)
    stored = stored_files(media_root)

    settings.ARCHIVE_REQUIRE_SIGNATURE = True
    for archive, says in (
        (unsigned, "the archive is unsigned; this site imports only archives signed with a trusted key"),
        (untrusted, "the archive is signed by key 'somewhere-else', which this site does not trust"),
    ):
        with pytest.raises(CommandError) as caught:
            call_command("import_study", import_path(tmp_path, archive))
        assert says in str(caught.value) and "\n" not in str(caught.value)
        assert (
            not Survey.objects.filter(name="Archived study").exists() and stored_files(media_root) == stored
        )

    # Trusted once its public key is configured.
    settings.ARCHIVE_TRUSTED_KEYS = {"somewhere-else": elsewhere.public_text()}
    out = io.StringIO()
    call_command("import_study", import_path(tmp_path, untrusted), stdout=out)
    assert "signed by key 'somewhere-else', verified" in out.getvalue()

    # Without the requirement, an unsigned archive imports and says so.
    Survey.objects.filter(name="Archived study").update(name="First import")
    settings.ARCHIVE_REQUIRE_SIGNATURE = False
    settings.ARCHIVE_TRUSTED_KEYS = {}
    out = io.StringIO()
    call_command("import_study", import_path(tmp_path, resigned_and_renumbered(content)), stdout=out)
    assert "; unsigned)" in out.getvalue()
    assert SurveyOrigin.objects.get(survey__name="Archived study").signature == UNSIGNED


@pytest.mark.django_db
def test_export_study_sign_without_a_site_key_is_one_line_and_writes_nothing(make_survey, join, tmp_path):
    survey = answered_and_closed(make_survey, join, per_side=2)
    with pytest.raises(CommandError) as caught:
        call_command("export_study", survey.name, out=str(tmp_path / "x.zip"), sign=True)
    assert "the archive cannot be signed: this site has no signing key" in str(caught.value)
    assert not (tmp_path / "x.zip").exists() and not StudyExport.objects.exists()


def test_archive_signing_key_prints_a_pair_that_signs_and_verifies():
    out = io.StringIO()
    call_command("archive_signing_key", SITE, stdout=out)
    lines = dict(
        line.removeprefix("# for other sites: ").split("=", 1) for line in out.getvalue().splitlines()
    )
    key = signing_key(lines["ARCHIVE_SIGNING_KEY_ID"], lines["ARCHIVE_SIGNING_KEY"])
    trusted_id, public = lines["ARCHIVE_TRUSTED_KEYS"].split("=", 1)
    manifest = b'{"format": "blindread-archive/3"}'
    signature = json.loads(key.sign(manifest))
    origin = check_signature(manifest, signature, trusted=trusted_keys({trusted_id: public}), required=True)
    assert origin.state == VERIFIED and origin.key_id == SITE


def test_check_signature_on_its_own():
    key, _ = new_signing_key("a")
    manifest = b'{"files": {}}'
    signature = json.loads(key.sign(manifest))
    trusted = trusted_keys({"a": key.public_text()})
    assert check_signature(manifest, signature, trusted=trusted, required=True).state == VERIFIED
    assert check_signature(manifest, signature, trusted={}, required=False).state == UNVERIFIED
    assert check_signature(manifest, None, trusted=trusted, required=False).state == UNSIGNED
    for bad, says in (
        ({**signature, "signature": base64.b64encode(bytes(64)).decode()}, "does not verify"),
        ({**signature, "signature": "%%%"}, "not base64"),
        ({**signature, "algorithm": "md5"}, "is not an ed25519 signature"),
        ({**signature, "key_id": "../../x"}, "is not an ed25519 signature"),
    ):
        with pytest.raises(ArchiveRejected, match=says):
            check_signature(manifest, bad, trusted=trusted, required=False)
    with pytest.raises(ArchiveRejected, match="does not verify"):
        check_signature(manifest + b" ", signature, trusted=trusted, required=False)
