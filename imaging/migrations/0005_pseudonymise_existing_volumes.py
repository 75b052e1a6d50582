"""Volumes imported before de-identification on arrival keep the patient's original identifier, the original DICOM
UIDs and the names of the files and folders they came from. This gives them what an import gives today, under the
site's pseudonym key (settings.PSEUDONYM_KEY): the patient's pseudonym, the new series and instance UIDs (so a
series imported again is still skipped), and a source that names no file; import jobs' rejected files lose their
names too. Volumes made by generation (their patient copied from their MRI) get the same pseudonyms as their MRI.

It cannot be undone: the original identifiers are not kept anywhere."""

from django.conf import settings
from django.db import migrations

from imaging.dicom.deidentify import Deidentifier


def _is_pseudonym(patient: str) -> bool:
    return patient.startswith("pt-") and len(patient) == 19


def pseudonymise(apps, schema_editor):
    Volume = apps.get_model("imaging", "Volume")
    Slice = apps.get_model("imaging", "Slice")
    ImportJob = apps.get_model("imaging", "ImportJob")
    deid = Deidentifier(key=settings.PSEUDONYM_KEY.encode("utf-8"))
    for volume in Volume.objects.all().order_by("pk").iterator():
        changed = []
        if volume.patient and not _is_pseudonym(volume.patient):
            volume.patient = deid.pseudonym(volume.patient)
            changed.append("patient")
        if volume.source_format == "dicom":
            volume.series_key = deid.uid(volume.series_key)
            changed.append("series_key")
            slices = list(Slice.objects.filter(volume=volume).exclude(sop_instance_uid=""))
            for slice_ in slices:
                slice_.sop_instance_uid = deid.uid(slice_.sop_instance_uid)
            Slice.objects.bulk_update(slices, ["sop_instance_uid"], batch_size=500)
        if volume.source_format in ("dicom", "nifti"):
            volume.source_path = f"imported before de-identification, volume {volume.pk}"
            changed.append("source_path")
        if changed:
            volume.save(update_fields=changed)
    for job in ImportJob.objects.exclude(errors=[]).iterator():
        job.errors = [
            {"path": f"file {number}", "reason": entry.get("reason", "")}
            for number, entry in enumerate(job.errors, start=1)
        ]
        job.save(update_fields=["errors"])
    for job in ImportJob.objects.all().iterator():
        ignored = (job.result or {}).get("ignored") if isinstance(job.result, dict) else None
        if ignored:
            job.result["ignored"] = [
                {"path": f"file {number}", "reason": entry.get("reason", "")}
                for number, entry in enumerate(ignored, start=1)
            ]
            job.save(update_fields=["result"])


class Migration(migrations.Migration):
    dependencies = [("imaging", "0004_deidentified_imports")]

    operations = [migrations.RunPython(pseudonymise, migrations.RunPython.noop, elidable=False)]
