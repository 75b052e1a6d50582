from django.core.management.base import BaseCommand, CommandError

from generation.inference import resolve_device
from generation.management import accept_negative_values
from generation.services import parse_inputs
from generation.services.training import TrainingError, create_training_run, queue_training, train_now
from generation.training import SETUPS, TrainingOptions
from generation.vocabulary import (
    DEFAULT_NORMALISATION,
    NORMALISATION_RULES,
    CheckpointRefused,
    parse_hu_range,
)
from imaging.constants import HU_MAX, HU_MIN
from jobs.models import JobStatus
from jobs.services import retry


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Train a CycleGAN (LSGAN, cycle 10, identity 0.5, pool 50, Adam 2e-4 (0.5, 0.999), constant then linearly "
        "decaying LR, random crop and flip) on an MRI and a CT dataset, unpaired; resumes a run of the same "
        "--name; registers its MRI-to-CT generator when done."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        return accept_negative_values(super().create_parser(prog_name, subcommand, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("--setup", required=True, choices=[*SETUPS, "custom"])
        parser.add_argument("--inputs", help="MRI modalities for --setup custom, e.g. t1_out or t1_in,t2")
        parser.add_argument("--mri-dataset", required=True)
        parser.add_argument("--ct-dataset", required=True)
        parser.add_argument("--name", help="Run and checkpoint name (default: cyclegan-<setup>-seed<seed>)")
        parser.add_argument("--ngf", type=positive, default=64, help="Generator filters in the first layer")
        parser.add_argument(
            "--ndf", type=positive, default=64, help="Discriminator filters in the first layer"
        )
        parser.add_argument(
            "--n-blocks",
            type=int,
            default=None,
            help="Residual blocks (single input 9; multimodal: after fusion, 5)",
        )
        parser.add_argument(
            "--branch-blocks", type=int, default=4, help="Residual blocks per multimodal branch"
        )
        parser.add_argument(
            "--image-size", type=positive, default=256, help="Slices are resized to this size"
        )
        parser.add_argument(
            "--crop-size", type=positive, default=None, help="Random crop size (default image size)"
        )
        parser.add_argument("--batch-size", type=positive, default=1)
        length = parser.add_mutually_exclusive_group()
        length.add_argument("--epochs", type=int, default=None, help="Epochs at constant LR (default 100)")
        length.add_argument("--iterations", type=positive, default=None, help="Total iterations")
        parser.add_argument(
            "--epochs-decay", type=int, default=None, help="Epochs of linear LR decay (default --epochs)"
        )
        parser.add_argument(
            "--decay-iterations", type=int, default=None, help="Iterations of decay (default half)"
        )
        parser.add_argument("--lr", type=float, default=2e-4)
        parser.add_argument("--lambda-cycle", type=float, default=10.0, help="Cycle-consistency weight")
        parser.add_argument(
            "--lambda-identity",
            type=float,
            default=0.5,
            help="Identity weight relative to --lambda-cycle (single-input models only; 0 turns it off)",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
        parser.add_argument(
            "--normalisation", choices=list(NORMALISATION_RULES), default=DEFAULT_NORMALISATION
        )
        parser.add_argument("--ct-range", default=f"{HU_MIN},{HU_MAX}", help="HU range mapped to [-1, 1]")
        parser.add_argument("--no-flip", action="store_true", help="No random horizontal flips")
        parser.add_argument("--log-every", type=positive, default=50)
        parser.add_argument("--save-every", type=positive, default=500)
        parser.add_argument("--run-dir", help="Run folder (default var/training/<name>)")
        parser.add_argument("--no-register", action="store_true", help="Do not register the generator")
        parser.add_argument("--queue", action="store_true", help="Run as a task on the gpu queue, not here")
        parser.add_argument(
            "--stop-after", type=positive, help="Stop (resumably) after this iteration of the run"
        )

    def handle(self, *args, **opts):
        try:
            resolve_device(opts["device"])
            inputs = tuple(parse_inputs(opts["inputs"])) if opts["inputs"] else ()
            hu_min, hu_max = parse_hu_range(opts["ct_range"])
            multimodal = (
                (len(inputs) > 1) if opts["setup"] == "custom" else len(SETUPS[opts["setup"]].inputs) > 1
            )
            n_blocks = opts["n_blocks"] if opts["n_blocks"] is not None else (5 if multimodal else 9)
            epochs = None
            iterations, decay = 1, 0
            if opts["iterations"]:
                iterations = opts["iterations"]
                decay = opts["decay_iterations"] if opts["decay_iterations"] is not None else iterations // 2
            else:
                constant = opts["epochs"] if opts["epochs"] is not None else 100
                decaying = opts["epochs_decay"] if opts["epochs_decay"] is not None else constant
                if constant < 0 or decaying < 0 or constant + decaying < 1:
                    raise CommandError("--epochs and --epochs-decay must be >= 0 and add up to at least 1")
                epochs = (constant, decaying)
            options = TrainingOptions(
                setup=opts["setup"],
                inputs=inputs,
                ngf=opts["ngf"],
                ndf=opts["ndf"],
                n_blocks=n_blocks,
                branch_blocks=opts["branch_blocks"],
                image_size=opts["image_size"],
                crop_size=opts["crop_size"] or opts["image_size"],
                batch_size=opts["batch_size"],
                iterations=iterations,
                decay_iterations=decay,
                lr=opts["lr"],
                lambda_cycle=opts["lambda_cycle"],
                lambda_identity=opts["lambda_identity"],
                seed=opts["seed"],
                flip=not opts["no_flip"],
                normalisation=opts["normalisation"],
                hu_min=hu_min,
                hu_max=hu_max,
                log_every=opts["log_every"],
                save_every=opts["save_every"],
            )
            run = create_training_run(
                name=opts["name"] or f"cyclegan-{opts['setup']}-seed{opts['seed']}",
                mri_dataset_name=opts["mri_dataset"],
                ct_dataset_name=opts["ct_dataset"],
                options=options,
                epochs=epochs,
                run_dir=opts["run_dir"],
                device=opts["device"],
                register=not opts["no_register"],
            )
        except (ValueError, TrainingError, CheckpointRefused) as exc:
            raise CommandError(str(exc)) from None
        if run.status == JobStatus.DONE:
            self.stdout.write(f"training run {run.name!r} is already finished (checkpoint {run.checkpoint})")
            return
        if run.status == JobStatus.FAILED or run.is_stale:
            run = retry(run, enqueue=False)
        if opts["queue"]:
            queue_training(run)
            self.stdout.write(
                f"training run #{run.pk} {run.name!r} queued on the gpu queue; files in {run.run_dir}"
            )
            return
        try:
            run = train_now(run, log=self.stdout.write, stop_after=opts["stop_after"])
        except ValueError as exc:  # a refusal found while running (the run is marked failed)
            raise CommandError(str(exc)) from None
        if run.status == JobStatus.FAILED:
            raise CommandError(run.error)
        self.stdout.write(f"training run {run.name!r}: {run.status_label}, {run.message}")
