"""Two web nodes behind nginx (round robin), each with its own local folder, on the object store: a reader whose
requests alternate between the nodes joins by invitation and finishes a survey; every answer is stored once,
nothing is lost, and neither node stores a file of its own (only its cache of payloads, each at most once)."""

import argparse
import threading
import uuid

import pytest
from django.conf import settings

from benchmarks.load_readers import SimulatedReader, Timings, check_database, free_port
from storage.backends import object_store_settings
from studies.services import do_create_invitations, invitation_url
from tests.conftest import stored_files
from tests.multinode.nodes import NGINX, Nginx, node_environment, start_web_node

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis"), reason="needs Redis (shared cache)"
    ),
    pytest.mark.skipif(not NGINX.exists(), reason="needs Debian's nginx (.ci/run installs it)"),
]


@pytest.fixture
def on_object_store(settings, object_store):
    prefix = f"multinode/{uuid.uuid4().hex}"
    environment = object_store.environment(prefix)
    settings.STORAGES = {**settings.STORAGES, "default": object_store_settings(environment)}
    return environment, prefix


def reader_arguments() -> argparse.Namespace:
    """A reader of benchmarks/load_readers.py who answers at once and now and then sends an answer twice."""
    return argparse.Namespace(
        seed=5,
        ramp=0.0,
        think=(0.0, 0.0),
        reload_rate=0.2,
        double_rate=0.2,
        retry_rate=0.2,
        max_seconds=240,
        faults=False,
        kill_workers=[],
    )


def test_a_reader_alternating_between_two_web_nodes_behind_nginx_finishes_the_survey(
    on_object_store, object_store, make_survey, tmp_path, settings
):
    environment, prefix = on_object_store
    survey = make_survey(per_side=4, open_it="audited")
    objects_before = object_store.keys(prefix)
    nodes, balancer = [], None
    folders = [tmp_path / "node-a", tmp_path / "node-b"]
    try:
        # nginx needs the nodes' ports and the nodes the site's URL (links in pages): nginx's port first.
        balancer_port = free_port()
        site_url = f"http://127.0.0.1:{balancer_port}"
        for folder in folders:
            folder.mkdir()
            nodes.append(start_web_node(folder, node_environment(folder, environment, site_url)))
        balancer = Nginx(tmp_path / "nginx", [f"127.0.0.1:{node.port}" for node in nodes], port=balancer_port)
        settings.STUDIES_SITE_URL = balancer.url
        invitation = do_create_invitations(survey=survey, actor=None, count=1)[0]
        reader = SimulatedReader(
            1, invitation_url(invitation), balancer.url, Timings(), reader_arguments(), threading.Barrier(1)
        )
        reader()
        assert reader.run.failure == "", reader.run.failure
        assert reader.run.finished
    finally:
        if balancer is not None:
            balancer.stop()
        for node in nodes:
            node.stop()

    check = check_database([reader.run])
    assert (check["lost"], check["duplicated"], check["unfinished"]) == (0, 0, 0), check
    assert len(reader.run.confirmed) == 8 and check["answers in the database"] == 8

    served = balancer.served()
    upstreams = [upstream for _, _, _, upstream in served]
    ports = {f"127.0.0.1:{node.port}" for node in nodes}
    assert set(upstreams) == ports
    # Round robin: one reader's consecutive requests go to the other node each time.
    assert all(a != b for a, b in zip(upstreams, upstreams[1:], strict=False)), upstreams
    for kind in ("/pixels/", "/answer/"):
        assert {u for _, path, _, u in served if path.endswith(kind)} == ports, kind
    assert all(status in ("200", "302") for _, _, status, _ in served), served

    # Nothing stored twice or lost: the web nodes wrote no object and no file of their own; each cached a payload
    # at most once (named by its checksum).
    assert object_store.keys(prefix) == objects_before
    payloads = set(survey.items.values_list("payload_sha256", flat=True))
    for folder in folders:
        assert stored_files(folder / "media") == []
        cached = [p.name for p in stored_files(folder / "var" / "cache" / "files")]
        assert len(cached) == len(set(cached)) and set(cached) <= payloads
        assert cached, f"{folder.name} served no payload from its cache"
