import shutil

import pytest

from tests.jobs.broker import OwnBroker

PORT = 6392


@pytest.fixture
def own_broker():
    """A Redis broker of this test's own on PORT, the current Celery app sending there; stopped afterwards."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    broker = OwnBroker(PORT)
    broker.start()
    with broker.current():
        yield broker
    broker.stop()
