"""A local S3 emulator for tests: ``moto_server`` (moto[server]) on the loopback.

It is a real HTTP server speaking the S3 wire protocol, so the S3 blob store
is tested through boto3 exactly as it talks to AWS or MinIO, presigned URLs
included (moto serves them; it does not verify their signatures).

Example:
    >>> with moto_s3(tmp_path) as endpoint:  # doctest: +SKIP
    ...     store = S3BlobStore("s3://agora/t", endpoint_url=endpoint, **MOTO_CREDENTIALS)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agora.testing.net import free_port
from agora.testing.processes import running, tail
from agora.testing.wait import PROCESS_START_S, wait_until

# moto accepts any credentials; fixed ones keep boto3 off the host's own.
MOTO_CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


@contextmanager
def moto_s3(root: Path) -> Iterator[str]:
    """Run ``moto_server`` on a free loopback port and yield its endpoint URL."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "moto-server.log"
    argv = [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)]
    with running(argv, log=log, cwd=root, grace_s=5) as proc:
        wait_until(
            lambda: httpx.get(f"{url}/moto-api/", timeout=5).status_code < 500,
            timeout_s=PROCESS_START_S,
            what=f"moto server on {url}",
            interval_s=0.2,
            alive=lambda: None if proc.poll() is None else f"exited:\n{tail(log)}",
            ignore=(httpx.HTTPError,),
        )
        yield url


def create_bucket(endpoint_url: str, bucket: str) -> None:
    """Create ``bucket`` on the emulator (idempotent)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=MOTO_CREDENTIALS["access_key_id"],
        aws_secret_access_key=MOTO_CREDENTIALS["secret_access_key"],
    )
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)
