"""Faults survived: Redis stops in the middle of a study. Readers still load items and their answers are stored
(nothing on the answer path uses Redis); sign-in rate limiting fails open, saying so in the log, and counts again
once Redis is back. The test runs a Redis of its own on another port and stops that one, never the shared one."""

import json
import logging
import shutil
import socket
import subprocess
import time

import pytest
from django.test import Client
from django.urls import reverse

from studies.models import Answer, AnswerRevision
from studies.selectors import item_at
from tests.studies.conftest import answer_body

PORT = 6390
pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def wait_for_port(open_: bool, timeout_s: float = 10.0, *, port: int = PORT) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if (probe.connect_ex(("127.0.0.1", port)) == 0) == open_:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not {'open' if open_ else 'close'} within {timeout_s} s")


class OwnRedis:
    """A throw-away redis-server on `port` (no persistence), started and stopped by the test."""

    def __init__(self, port: int = PORT):
        self.port = port
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(True, port=self.port)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        wait_for_port(False, port=self.port)


@pytest.fixture
def own_redis(settings):
    redis = OwnRedis()
    redis.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis.url,
            "KEY_PREFIX": "faults",
        }
    }
    settings.STUDIES_RATE_LIMITS = {
        "login_address": (6, 900),
        "login_username": (3, 900),
        "invitation_address": (5, 900),
    }
    yield redis
    redis.stop()


def sign_in(client, username, password):
    return client.post(reverse("studies:login"), {"username": username, "password": password})


def test_with_redis_stopped_readers_load_items_and_every_answer_is_stored(
    own_redis, make_survey, join, caplog
):
    survey = make_survey(open_it=True, per_side=3)
    assignment = join(survey)
    reader = assignment.reader
    client = Client()
    assert sign_in(client, reader.username, "pw-reader-123").status_code == 302  # the limiter reads Redis
    first = item_at(assignment, 1)
    answer_url = reverse("studies:answer", args=[assignment.key, first.public_id])
    body = json.dumps(answer_body(choice="real"))
    assert client.post(answer_url, body, content_type="application/json").status_code == 200

    own_redis.stop()  # in the middle of the study

    for position in range(2, survey.item_count + 1):
        page = client.get(reverse("studies:item", args=[assignment.key, position]))
        assert page.status_code == 200
        item = item_at(assignment, position)
        pixels = client.get(reverse("studies:pixels", args=[assignment.key, item.public_id]))
        assert pixels.status_code == 200 and len(pixels.content) == survey.payload_bytes
        answer_url = reverse("studies:answer", args=[assignment.key, item.public_id])
        body = json.dumps(answer_body(choice="synthetic"))
        assert client.post(answer_url, body, content_type="application/json").status_code == 200
    assert Answer.objects.filter(assignment=assignment).count() == survey.item_count
    assert AnswerRevision.objects.filter(assignment=assignment).count() == survey.item_count

    # Sign-in fails open while Redis is down: a wrong password is still wrong, the right one still works,
    # nobody is limited, and the log says rate limiting is off.
    other = Client()
    with caplog.at_level(logging.WARNING, logger="studies.ratelimit"):
        for _ in range(5):
            assert sign_in(other, reader.username, "wrong").status_code == 200
        assert sign_in(other, reader.username, "pw-reader-123").status_code == 302
    assert "rate limiting off: cache unreachable" in caplog.text

    # Redis back: failures count again and the limit holds.
    own_redis.start()
    again = Client()
    for _ in range(3):
        assert sign_in(again, reader.username, "wrong").status_code == 200
    assert sign_in(again, reader.username, "pw-reader-123").status_code == 429
