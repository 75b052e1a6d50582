"""Registering checkpoints: what is accepted, what is refused (one line, nothing stored), what is recorded."""

import io
import os
import pickle

import pytest
import torch
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from safetensors.torch import save as safetensors_save

from audit.models import AuditEvent
from generation.checkpoints import CheckpointRefused, fingerprint_input, load_weights, sha256_hex
from generation.models import Checkpoint
from generation.networks import NLayerDiscriminator, ResnetGenerator, count_parameters
from generation.services import register_checkpoint
from tests.conftest import stored_files
from tests.generation.factories import pth_bytes, small_multimodal, small_resnet
from tests.generation.reference_cyclegan import reference_generator

pytestmark = pytest.mark.django_db


def register(data, **overrides):
    arguments = {"name": "model", "data": data, "inputs": "t1_in", "contrast": True, "input_size": 32}
    arguments.update(overrides)
    return register_checkpoint(**arguments)


def refused(media_root, data, **overrides) -> str:
    with pytest.raises(CheckpointRefused) as raised:
        register(data, **overrides)
    message = str(raised.value)
    assert "\n" not in message
    assert Checkpoint.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert stored_files(media_root) == []
    return message


# --- Accepted files ----------------------------------------------------------------------------------------


@pytest.mark.smoke
def test_a_reference_state_dict_registers_and_gives_the_reference_forward_pass(media_root):
    reference = reference_generator(ngf=8, n_blocks=3)
    checkpoint = register(pth_bytes(reference.state_dict()), arch="resnet_3blocks")

    assert checkpoint.architecture == "resnet"
    assert checkpoint.architecture_config == {"input_nc": 1, "output_nc": 1, "ngf": 8, "n_blocks": 3}
    assert checkpoint.parameter_count == count_parameters(reference)
    with default_storage.open(checkpoint.weights, "rb") as handle:
        stored = handle.read()
    assert sha256_hex(stored) == checkpoint.sha256
    ours = ResnetGenerator(**checkpoint.architecture_config).eval()
    ours.load_state_dict(load_weights(stored), strict=True)
    mri = torch.rand(2, 1, 48, 48) * 2 - 1
    with torch.no_grad():
        assert torch.equal(ours(mri), reference(mri))


def test_registration_stores_declarations_provenance_fingerprint_and_an_audit_row(media_root):
    data = pth_bytes(small_resnet().state_dict())
    checkpoint = register(
        data,
        name="In-phase v1",
        hu_range=(-1000, 2000),
        contrast=False,
        normalisation="percentile_1_99",
        provenance={"file": "latest_net_G_A.pth"},
    )
    checkpoint.refresh_from_db()
    assert checkpoint.input_modalities == ["t1_in"]
    assert (checkpoint.hu_min, checkpoint.hu_max, checkpoint.contrast_enhanced) == (-1000, 2000, False)
    assert checkpoint.normalisation == "percentile_1_99"
    assert checkpoint.provenance["source_sha256"] == sha256_hex(data)
    assert checkpoint.provenance["source_format"] == "pth"
    assert checkpoint.provenance["file"] == "latest_net_G_A.pth"
    fingerprint = checkpoint.output_fingerprint
    assert fingerprint["size"] == 32 and len(fingerprint["samples"]) == 16
    with torch.no_grad():
        expected = small_resnet()(fingerprint_input(1, 32))[0, 0]
    assert fingerprint["samples"][0] == pytest.approx(float(expected[0, 0]), abs=1e-6)
    # Registered, then used by the default project (no project was named): two audit rows.
    shared = AuditEvent.objects.get(verb="checkpoint.shared")
    assert (shared.object_id, shared.details) == (str(checkpoint.pk), {"project": "Default project"})
    event = AuditEvent.objects.get(verb="checkpoint.registered")
    assert (event.verb, event.object_id, event.details["sha256"]) == (
        "checkpoint.registered",
        str(checkpoint.pk),
        checkpoint.sha256,
    )


def test_a_data_parallel_prefix_and_old_instance_norm_statistics_are_cleaned(media_root):
    old = reference_generator(ngf=4, n_blocks=1, old_instance_norm=True)
    state = {f"module.{key}": value for key, value in old.state_dict().items()}
    assert any(key.endswith("running_mean") for key in state)
    checkpoint = register(pth_bytes(state))
    notes = checkpoint.provenance["load_notes"]
    assert notes[0] == "stripped the 'module.' prefix"
    assert notes[1].startswith("dropped") and "running statistics" in notes[1]
    with default_storage.open(checkpoint.weights, "rb") as handle:
        assert not any("running" in key or key.startswith("module.") for key in load_weights(handle.read()))


def test_a_safetensors_file_and_a_state_dict_wrapper_both_register(media_root):
    net = small_resnet(seed=3)
    first = register(safetensors_save(dict(net.state_dict())), name="from safetensors")
    assert first.provenance["source_format"] == "safetensors"
    second = register(pth_bytes({"state_dict": net.state_dict()}), name="wrapped")
    assert second.sha256 == first.sha256  # same clean weights, one stored file
    assert len(stored_files(media_root)) == 1


def test_a_two_input_multimodal_generator_registers_for_two_declared_inputs(media_root):
    checkpoint = register(
        pth_bytes(small_multimodal(2).state_dict()), inputs="t1_in,t1_out", arch="multimodal"
    )
    assert checkpoint.architecture == "multimodal"
    assert checkpoint.input_modalities == ["t1_in", "t1_out"]


# --- Refused files ------------------------------------------------------------------------------------------


class RunsCode:
    """Unpickling this calls os.mkdir(marker): what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_malicious_pickle_is_refused_without_running_its_code(media_root, tmp_path):
    marker = tmp_path / "code-ran"
    state = dict(small_resnet().state_dict())
    state["model.1.weight"] = RunsCode(marker)
    message = refused(media_root, pth_bytes(state))
    assert not marker.exists()
    assert message.startswith("refused: loading the file would import posix.mkdir") or "mkdir" in message


def test_a_plain_malicious_pickle_is_refused_without_running_its_code(media_root, tmp_path):
    marker = tmp_path / "code-ran-too"
    message = refused(media_root, pickle.dumps(RunsCode(marker), protocol=2))
    assert not marker.exists()
    assert message.startswith("refused:")


def test_a_pickled_whole_model_is_refused_naming_its_class(media_root):
    buffer = io.BytesIO()
    torch.save(small_resnet(), buffer)
    message = refused(media_root, buffer.getvalue())
    assert "generation.networks.ResnetGenerator" in message
    assert "not a plain state dict of tensors" in message


def test_a_discriminator_file_is_refused(media_root):
    message = refused(media_root, pth_bytes(NLayerDiscriminator(ndf=4).state_dict()))
    assert message == "state dict looks like a PatchGAN discriminator, not a generator"


def test_a_truncated_file_is_refused(media_root):
    data = pth_bytes(small_resnet().state_dict())
    message = refused(media_root, data[: len(data) // 2])
    assert message.startswith("the file is truncated or corrupt")


def test_a_truncated_safetensors_file_is_refused(media_root):
    data = safetensors_save(dict(small_resnet().state_dict()))
    assert refused(media_root, data[:-100]).startswith("the safetensors file is truncated or corrupt")


def test_a_file_for_the_wrong_number_of_inputs_is_refused(media_root):
    message = refused(media_root, pth_bytes(small_resnet().state_dict()), inputs="t1_in,t1_out")
    assert message == "declared inputs t1_in,t1_out expect 2 input channels, file has 1"
    message = refused(media_root, pth_bytes(small_multimodal(2).state_dict()), inputs="t1_in")
    assert message == "declared inputs t1_in expect 1 input channel, file has 2"


@pytest.mark.parametrize(
    ("data", "overrides", "expected"),
    [
        (b"", {}, "the file is empty"),
        (b"GIF89a not a checkpoint at all", {}, "not a PyTorch (.pth) or safetensors file"),
        (pth_bytes([1, 2, 3]), {}, "the file holds a list, not a state dict of tensors"),
        (pth_bytes({"model.1.weight": 3}), {}, "the file's dict has int at key 'model.1.weight'"),
        (pth_bytes({"epoch": torch.tensor(1)}), {}, "state dict is not a ResnetGenerator"),
        (
            pth_bytes({k: v.long() for k, v in small_resnet().state_dict().items()}),
            {},
            "has dtype torch.int64",
        ),
        (None, {"arch": "multimodal"}, "declared --arch multimodal, but the file holds ResnetGenerator("),
        (
            None,
            {"arch": "resnet_9blocks"},
            "declared --arch resnet_9blocks, but the file has 1 residual blocks",
        ),
        (None, {"arch": "unet_256"}, "--arch must be auto, resnet, multimodal or resnet_<N>blocks"),
        (None, {"inputs": "t1"}, "unknown input modality 't1'"),
        (None, {"inputs": "t1_in,t1_in"}, "input modalities repeat"),
        (None, {"inputs": ""}, "--inputs needs one to three of"),
        (None, {"hu_range": (100, -100)}, "CT range 100,-100 must be two integers low < high"),
        (None, {"normalisation": "zscore"}, "unknown normalisation rule 'zscore'"),
        (None, {"input_size": 30}, "input size must be a multiple of 4"),
        (None, {"name": "  "}, "a checkpoint name is required"),
        (None, {"contrast": None}, "say whether the CT it imitates is contrast-enhanced"),
    ],
    ids=[
        "empty",
        "garbage",
        "list",
        "non-tensor",
        "unknown-keys",
        "integer-tensors",
        "arch-family",
        "arch-blocks",
        "arch-unknown",
        "modality",
        "repeated",
        "no-inputs",
        "hu-range",
        "normalisation",
        "input-size",
        "name",
        "contrast",
    ],
)
def test_bad_files_and_declarations_are_refused_in_one_line(media_root, data, overrides, expected):
    data = data if data is not None else pth_bytes(small_resnet().state_dict())
    assert expected in refused(media_root, data, **overrides)


def test_a_generator_with_three_output_channels_is_refused(media_root):
    net = ResnetGenerator(1, 3, ngf=4, n_blocks=1)
    assert refused(media_root, pth_bytes(net.state_dict())) == (
        "the file's generator outputs 3 channels; a CT generator outputs 1"
    )


def test_weights_giving_nan_fail_the_smoke_forward_pass(media_root):
    state = dict(small_resnet().state_dict())
    state["model.1.bias"] = torch.full_like(state["model.1.bias"], float("nan"))
    assert refused(media_root, pth_bytes(state)) == "smoke forward pass gave NaN or infinite values"


def test_a_second_checkpoint_with_the_same_name_is_refused_and_the_first_is_kept(media_root):
    first = register(pth_bytes(small_resnet().state_dict()))
    with pytest.raises(CheckpointRefused, match="a checkpoint named 'model' is already registered"):
        register(pth_bytes(small_resnet(seed=5).state_dict()))
    assert list(Checkpoint.objects.all()) == [first]
    assert len(stored_files(media_root)) == 1


# --- Command and admin --------------------------------------------------------------------------------------


def test_register_checkpoint_command_registers_a_file(tmp_path, media_root):
    path = tmp_path / "latest_net_G_A.pth"
    path.write_bytes(pth_bytes(reference_generator(ngf=4, n_blocks=2).state_dict()))
    out = io.StringIO()
    call_command(
        "register_checkpoint", str(path), "--name", "cli", "--inputs", "t1_in", "--no-contrast",
        "--ct-range", "-1000,2000", "--arch", "resnet_2blocks", "--input-size", "32", stdout=out,
    )  # fmt: skip
    checkpoint = Checkpoint.objects.get(name="cli")
    assert checkpoint.contrast_enhanced is False and checkpoint.hu_max == 2000
    assert checkpoint.provenance["file"] == "latest_net_G_A.pth"
    assert f"sha256 {checkpoint.sha256}" in out.getvalue()


@pytest.mark.parametrize(
    ("make_file", "extra", "expected"),
    [
        (lambda p: None, [], "is not a file"),
        (lambda p: p.write_bytes(b"junk"), [], "not a PyTorch (.pth) or safetensors file"),
        (
            lambda p: p.write_bytes(pth_bytes(small_resnet().state_dict())),
            ["--ct-range", "x"],
            "CT range must be",
        ),
        (
            lambda p: p.write_bytes(pth_bytes(small_resnet().state_dict())),
            ["--inputs", "t1_in,t2"],
            "expect 2 input",
        ),
    ],
    ids=["missing", "junk", "ct-range", "inputs"],
)
def test_register_checkpoint_command_refuses_in_one_line(tmp_path, media_root, make_file, extra, expected):
    path = tmp_path / "model.pth"
    make_file(path)
    arguments = {"--inputs": "t1_in", "--ct-range": "-1024,3071"}
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        arguments[flag] = value
    flat = [item for pair in arguments.items() for item in pair]
    with pytest.raises(CommandError) as raised:
        call_command(
            "register_checkpoint", str(path), "--name", "x", "--contrast", "--input-size", "32", *flat
        )
    assert expected in str(raised.value) and "\n" not in str(raised.value)
    assert Checkpoint.objects.count() == 0 and stored_files(media_root) == []


def upload(client, data, **fields):
    form = {
        "name": "uploaded",
        "input_1": "t1_in",
        "input_2": "",
        "input_3": "",
        "contrast": "yes",
        "hu_min": "-1024",
        "hu_max": "3071",
        "normalisation": "percentile_0_5_99_5",
        "input_size": "32",
        "arch": "auto",
        "file": SimpleUploadedFile("latest_net_G_A.pth", data),
    }
    form.update(fields)
    return client.post(reverse("admin:generation_checkpoint_upload"), form)


def test_an_admin_upload_registers_the_checkpoint(client, admin_user, media_root):
    client.force_login(admin_user)
    response = upload(client, pth_bytes(small_resnet().state_dict()))
    checkpoint = Checkpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:generation_checkpoint_change", args=[checkpoint.pk])
    assert checkpoint.created_by == admin_user
    assert checkpoint.provenance["registered_by"] == "admin upload"


def test_an_admin_upload_of_a_discriminator_shows_the_reason_and_stores_nothing(
    client, admin_user, media_root
):
    client.force_login(admin_user)
    response = upload(client, pth_bytes(NLayerDiscriminator(ndf=4).state_dict()))
    assert response.status_code == 200
    assert (
        "Refused latest_net_G_A.pth: state dict looks like a PatchGAN discriminator, not a generator"
        in response.content.decode()
    )
    assert Checkpoint.objects.count() == 0 and stored_files(media_root) == []


def test_an_admin_upload_declaring_two_inputs_for_a_single_input_file_is_refused(
    client, admin_user, media_root
):
    client.force_login(admin_user)
    response = upload(client, pth_bytes(small_resnet().state_dict()), input_2="t1_out")
    assert "expect 2 input channels, file has 1" in response.content.decode()
    assert Checkpoint.objects.count() == 0


def test_an_admin_upload_of_garbage_is_refused_in_one_line(client, admin_user, media_root):
    client.force_login(admin_user)
    page = upload(client, b"\x00\x01 not a checkpoint").content.decode()
    assert "Refused latest_net_G_A.pth: not a PyTorch (.pth) or safetensors file" in page
    assert Checkpoint.objects.count() == 0 and stored_files(media_root) == []
