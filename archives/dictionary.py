"""What every file and field of a study archive holds, written into each archive as archive-dictionary.json."""

ARCHIVE_DICTIONARY = {
    "manifest.json": "format (the archive format version), surveys (names, in order), created_at, report_job, "
    "files: sha256 and bytes of every other file",
    "manifest.sig": "only in a signed archive: algorithm (ed25519), key_id (the signing site's key) and signature "
    "(base64) of manifest.json's exact bytes",
    "answers.csv": "every current answer of the selection, one row each (columns: data-dictionary.csv)",
    "data-dictionary.csv": "the columns of answers.csv",
    "statistics/stats.json": "the statistics of the selection, as the report's JSON download",
    "statistics/report.pdf": "the report of the selection, as the report's PDF download",
    "surveys/NN/survey.json": "the survey: name, model_alias, model_dataset and real_dataset (name, kind, "
    "contrast_enhanced), real_count, synthetic_count, seed, status, allow_going_back, reader_title, instructions, "
    "reader_title_it and instructions_it (what Italian pages show; version 4), "
    "display_policy (studies.policy.DisplayPolicy), design (studies.design.StudyDesign: rating scale, "
    "choice_from_rating, window presets, practice_items, repeat, repeat_items, washout_days; version 2; "
    "catch_items and the exclusion rules qc_min_catch_percent, qc_min_median_seconds, qc_max_run), "
    "created_at, opened_at, closed_at, rendered_at, the last blinding audit (last_audit_*)",
    "surveys/NN/items.json": "the truth table: per item public_id, truth (real|synthetic), axial_layer (1..10), "
    "payload and payload_sha256, catch (true for a catch item: a synthetic slice with the artefact of "
    "studies.catch drawn in its pixels, for reader quality control, never in the statistics; absent: false), "
    "dicom, mm_per_pixel, source (dataset, volume_uid, patient pseudonym, slice_id, "
    "slice_index, z_mm, sop_instance_uid) and model_provenance (checkpoint, checkpoint_sha256, architecture, "
    "input_modalities, source_slice_ids, software_version; null for real CT and imported synthetic CT)",
    "surveys/NN/items/ID.i16": "the item's pixels exactly as served to readers: matrix x matrix little-endian "
    "int16 HU, row by row; for a stack survey its 2k+1 slices one after the other, the centre slice (the one "
    "answered for) in the middle",
    "surveys/NN/items/ID.dcm": "the same pixels as a CT Image (DERIVED\\SECONDARY, new UIDs, no truth); for a "
    "stack, its centre slice",
    "surveys/NN/practice-items.json": "the practice items (version 2), read first with feedback and never part of "
    "the test: the same fields as items.json, payload and dicom under practice/",
    "surveys/NN/practice/ID.i16": "a practice item's pixels exactly as served (as items/ID.i16)",
    "surveys/NN/practice/ID.dcm": "the same pixels as a CT Image (as items/ID.dcm)",
    "surveys/NN/assignments.json": "per reader: reader (pseudonym), reader_specialty, reader_years_of_experience, "
    "seed, item_order (public ids), practice_order (practice public ids; version 2), pair_plan ([pair public "
    "id, real side] in reading order, 2AFC; version 5), created_at, "
    "last_activity_at, completed_at, last_reminded_at, reminder_count",
    "surveys/NN/invitations.json": "per invitation: created_at, expires_at, used_at, used_by (pseudonym), "
    "revoked_at, state; never the token or the e-mail address",
    "surveys/NN/answers.json": "per current answer: reader, item, choice, reason, seconds_on_slice, window_width, "
    "window_level, zoom, window_changed, rating (on the survey's scale, null without one; version 2), "
    "invert_used (version 2), slices_visited (offsets from the centre slice of a stack, in the order visited; [] "
    "for a single slice) and seconds_per_slice (version 3), views_used (slab reading: the views looked at, axial "
    "first, in the order first seen; [] without a slab) and seconds_per_view (seconds on axial, coronal and "
    "sagittal; version 5), client_key, revision_count, created_at, updated_at",
    "surveys/NN/revisions.json": "every submission, in order: reader, item, revision (1..), the same answer "
    "fields, client_key, created_at",
    "surveys/NN/practice-answers.json": "per practice answer (version 2): reader, practice_item (public id), "
    "choice, rating, seconds_on_slice, client_key, created_at; window_width, window_level, zoom, "
    "window_changed, invert_used, slices_visited, seconds_per_slice (version 3; null when not recorded), "
    "views_used, seconds_per_view (version 5; [] without a slab)",
    "surveys/NN/rounds.json": "per second reading (version 2): reader, number (2), item_order (public ids), "
    "opens_at (the first reading's end plus the wash-out), created_at, completed_at",
    "surveys/NN/repeat-answers.json": "per answer of a second reading (version 2): reader, round, item, the "
    "answer fields of answers.json, client_key, created_at",
    "surveys/NN/pairs.json": "2AFC surveys (version 5): per pair, public_id, axial_layer, real_item and "
    "synthetic_item (item public ids); [] for other surveys",
    "surveys/NN/pair-answers.json": "2AFC surveys (version 5): per answer, reader, pair (public id), side (chosen as "
    "real: left or right), real_side, correct, seconds, confidence (1..5 or null), reason, answered_at",
    "surveys/NN/audit-events.json": "the audit rows of the survey, its items, answers, assignments, "
    "invitations, blinding audits, practice items and answers, rounds and repeat answers: created_at, actor "
    "(pseudonym), verb, object_type, object_id, details",
    "times": "ISO 8601 with time zone",
}
