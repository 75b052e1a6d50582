"""A real Orthanc (Debian's `orthanc` with its DICOMweb plugin, `orthanc-dicomweb`) started by the tests on free
loopback ports, with a user and password, and files stored in it through its REST API."""

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
USER, PASSWORD = "blindread", "pacs-secret-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Orthanc:
    http_port: int
    process: subprocess.Popen

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        return f"{self.rest}/dicom-web"

    def store(self, paths) -> None:
        for path in paths:
            response = requests.post(
                f"{self.rest}/instances", data=Path(path).read_bytes(), auth=(USER, PASSWORD), timeout=30
            )
            response.raise_for_status()


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    executable = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
    if not Path(executable).exists() or not PLUGIN.exists():
        pytest.fail(
            "Orthanc with its DICOMweb plugin is needed: apt-get install orthanc orthanc-dicomweb (.ci/run)"
        )
    root = tmp_path_factory.mktemp("orthanc")
    http_port = free_port()
    config = {
        "Name": "BlindreadTestPACS",
        "StorageDirectory": str(root / "storage"),
        "IndexDirectory": str(root / "index"),
        "HttpPort": http_port,
        "DicomPort": free_port(),
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "Plugins": [str(PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
        "HttpTimeout": 30,
    }
    (root / "orthanc.json").write_text(json.dumps(config))
    log = (root / "orthanc.log").open("w")
    process = subprocess.Popen([executable, str(root / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    server = Orthanc(http_port=http_port, process=process)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{server.rest}/system", auth=(USER, PASSWORD), timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"Orthanc did not start: {(root / 'orthanc.log').read_text()[-2000:]}")
        time.sleep(0.2)
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
