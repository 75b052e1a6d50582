"""Generation throughput: the whole generate path against the bare generator forward pass on the same slices.

Usage: python benchmarks/bench_generation.py [--slices 48] [--batch-size 16] [--size 256] [--ngf 64]
       [--n-blocks 9] [--repeats 2] [--database-url URL] [--device auto] [--json out.json]

"Pipeline" is `run_generation_job` end to end with the model already loaded in the process (as in a warm
worker): pairing and database reads, loading each MRI slice from storage, per-volume normalisation, batched
inference, tanh to HU, writing every slice's .npy file and its rows. "Forward" is the bare generator on the
same normalised batches already in memory. Their ratio is what the pipeline adds. On CUDA it also measures
fp32 against bf16 / fp16 autocast, channels_last and torch.compile, with the HU error each introduces against
fp32 on the same inputs.

Without --database-url it uses a fresh SQLite file in a temporary folder; with one it migrates that database
and removes what it made. Pin to two cores with `taskset -c 0,1` to match the target CPU machine.
"""

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def machine(torch) -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    text = (
        f"{model}, {len(os.sched_getaffinity(0))} usable cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}"
    )
    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def mri_volume(patient: str, slices: int, size: int, seed: int):
    import numpy as np

    from imaging.volumes import VolumeData

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size] / (size - 1) * 2 - 1
    body = ((x / 0.8) ** 2 + (y / 0.6) ** 2 < 1).astype(np.float32)
    planes = [
        body * (600 + 200 * np.sin(4 * x + i / 3) * np.cos(3 * y)) + rng.normal(0, 20, (size, size))
        for i in range(slices)
    ]
    return VolumeData(
        patient=patient,
        modality="t1_in",
        series_key=f"bench-{patient}-{seed}",
        source_format="dicom",
        source_path="",
        pixels=np.maximum(np.stack(planes), 0).astype(np.float32),
        z_mm=np.arange(slices) * 7.0,
        row_spacing_mm=1.5,
        column_spacing_mm=1.5,
        orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    )


def timed(function, *, sync) -> float:
    sync()
    started = time.perf_counter()
    function()
    sync()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=48, help="Slices per measured run")
    parser.add_argument("--slices-per-volume", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--n-blocks", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", default=None, help="Also write the results to this JSON file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="blindread-bench-generation-"))
    os.environ["BLINDREAD_VAR_DIR"] = str(workdir / "var")
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    import numpy as np
    import torch
    from django.core.management import call_command

    from generation.inference import GENERATORS, resolve_device
    from generation.models import Checkpoint, GenerationJob, SyntheticSlice
    from generation.networks import ResnetGenerator, init_weights
    from generation.preprocessing import normalise_volume
    from generation.services import generate_now, register_checkpoint, start_generation
    from generation.services.runs import checkpoint_architecture
    from imaging.models import Dataset, Slice, Volume
    from imaging.pixels import load_slice_pixels
    from imaging.services import store_volume

    call_command("migrate", verbosity=0)
    device = resolve_device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    results: dict = {
        "machine": machine(torch),
        "device": str(device),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "generator": f"ResnetGenerator(1, 1, ngf={args.ngf}, n_blocks={args.n_blocks}), {args.size}x{args.size}",
        "batch_size": args.batch_size,
        "slices": args.slices,
    }
    print(results["machine"])

    torch.manual_seed(0)
    net = init_weights(ResnetGenerator(1, 1, args.ngf, args.n_blocks))
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    checkpoint = register_checkpoint(
        name="bench", data=buffer.getvalue(), inputs="t1_in", contrast=True, input_size=args.size
    )
    architecture = checkpoint_architecture(checkpoint)
    state_dict = net.state_dict()

    datasets = []
    for repeat in range(args.repeats):
        name = f"Bench MRI {repeat}"
        for first in range(0, args.slices, args.slices_per_volume):
            count = min(args.slices_per_volume, args.slices - first)
            store_volume(
                dataset_name=name,
                kind="mr",
                contrast=None,
                data=mri_volume(f"r{repeat}p{first}", count, args.size, seed=repeat * 1000 + first),
            )
        datasets.append(Dataset.objects.get(name=name))

    started = time.perf_counter()
    GENERATORS.clear()
    generator = GENERATORS.get(
        checkpoint.sha256,
        device=device,
        precision="fp32",
        loader=lambda: (architecture, state_dict, checkpoint.output_fingerprint),
    )
    results["model_load_s"] = round(time.perf_counter() - started, 3)

    def forward_batches(dataset):
        """The same slices as the pipeline sees, normalised per volume, in the same batches, in memory."""
        batches = []
        for volume in Volume.objects.filter(dataset=dataset).order_by("patient", "id"):
            pixels = np.stack([load_slice_pixels(s.pixels) for s in volume.slices.order_by("index")])
            normalised = torch.from_numpy(normalise_volume(pixels, checkpoint.normalisation)).unsqueeze(1)
            batches += list(torch.split(normalised, args.batch_size))
        return [batch.to(device) for batch in batches]

    def bare_forward(batches, model=generator):
        with torch.inference_mode():
            for batch in batches:
                model.forward(batch)

    warm = forward_batches(datasets[0])[:1]
    bare_forward(warm)

    pipeline_s, forward_s = [], []
    for dataset in datasets:
        batches = forward_batches(dataset)
        forward_s.append(timed(lambda batches=batches: bare_forward(batches), sync=sync))
        job = start_generation(checkpoint=checkpoint, mri_dataset=dataset, enqueue=False)
        pipeline_s.append(
            timed(
                lambda job=job: generate_now(job, device=str(device), batch_size=args.batch_size),
                sync=sync,
            )
        )
        forward_s.append(timed(lambda batches=batches: bare_forward(batches), sync=sync))
        assert GenerationJob.objects.get(pk=job.pk).done == args.slices
    # Median and best run of each: the best runs are the least disturbed by other work on a shared machine.
    pipeline = args.slices / statistics.median(pipeline_s)
    forward = args.slices / statistics.median(forward_s)
    best_pipeline, best_forward = args.slices / min(pipeline_s), args.slices / min(forward_s)
    results.update(
        {
            "pipeline_slices_per_s": round(pipeline, 3),
            "forward_slices_per_s": round(forward, 3),
            "pipeline_time_over_forward_time": round(forward / pipeline, 4),
            "best_pipeline_slices_per_s": round(best_pipeline, 3),
            "best_forward_slices_per_s": round(best_forward, 3),
            "best_pipeline_time_over_best_forward_time": round(best_forward / best_pipeline, 4),
            "pipeline_runs_s": [round(t, 3) for t in pipeline_s],
            "forward_runs_s": [round(t, 3) for t in forward_s],
        }
    )
    print(
        f"median: pipeline {pipeline:.3f} slices/s, bare forward {forward:.3f} slices/s, "
        f"pipeline time / forward time = {forward / pipeline:.3f}; best runs: {best_pipeline:.3f} vs "
        f"{best_forward:.3f} slices/s, ratio {best_forward / best_pipeline:.3f}"
    )

    if device.type == "cuda":
        results["cuda"] = cuda_variants(args, architecture, state_dict, datasets[0], forward_batches, device)

    SyntheticSlice.objects.all().delete()
    GenerationJob.objects.all().delete()
    Slice.objects.all().delete()
    Volume.objects.all().delete()
    Dataset.objects.all().delete()
    Checkpoint.objects.all().delete()
    shutil.rmtree(workdir, ignore_errors=True)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


def cuda_variants(args, architecture, state_dict, dataset, forward_batches, device) -> list[dict]:
    """fp32 / bf16 / fp16, channels_last and torch.compile on the GPU: slices/s and HU error against fp32."""
    import torch

    from generation.inference import load_generator
    from generation.preprocessing import tanh_to_hu
    from imaging.constants import HU_RANGE

    inputs = torch.cat(forward_batches(dataset))
    big_batch = max(args.batch_size, 64)
    batches = list(torch.split(inputs.repeat(max(1, 2048 // len(inputs)), 1, 1, 1), big_batch))
    variants = []
    reference = None
    for precision in ("fp32", "bf16", "fp16"):
        for channels_last in (False, True):
            for compiled in (False, True):
                generator = load_generator(
                    architecture,
                    state_dict,
                    device=device,
                    precision=precision,
                    channels_last=channels_last,
                    compile_model=compiled,
                )
                prepared = [
                    b.contiguous(memory_format=torch.channels_last) if channels_last else b for b in batches
                ]
                with torch.inference_mode():
                    for batch in prepared[:3]:  # warm-up (and compilation)
                        generator.forward(batch)
                    torch.cuda.synchronize()
                    started = time.perf_counter()
                    for batch in prepared:
                        generator.forward(batch)
                    torch.cuda.synchronize()
                    seconds = time.perf_counter() - started
                    hu = torch.cat(
                        [tanh_to_hu(generator.forward(b)[:, 0], *HU_RANGE) for b in prepared[:4]]
                    ).float()
                if reference is None:
                    reference = hu
                error = (hu - reference).abs()
                row = {
                    "precision": precision,
                    "channels_last": channels_last,
                    "compile": compiled,
                    "batch_size": big_batch,
                    "slices_per_s": round(sum(len(b) for b in prepared) / seconds, 1),
                    "mean_abs_hu_error_vs_fp32": round(float(error.mean()), 3),
                    "max_abs_hu_error_vs_fp32": round(float(error.max()), 1),
                }
                print(row)
                variants.append(row)
    return variants


if __name__ == "__main__":
    main()
