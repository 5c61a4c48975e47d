"""Cloud taggers behind one interface: a generic HTTP tagger and AWS Rekognition.

A cloud tagger is only ever called by the router, after consent allowed it.
Provider label names are mapped onto the taxonomy (``Taxonomy.map_cloud``);
names with no mapping are dropped.

Generic HTTP protocol (for a self-hosted or third-party service)::

    POST <url>   Authorization: Bearer <token>   (optional)
    {"image": "<base64>", "max_labels": 10}
    -> 200 {"labels": [{"name": "Car", "confidence": 0.93}, ...], "model_version": "2.1"}

Rekognition: ``DetectLabels`` (or ``DetectCustomLabels`` when a project
version ARN is configured), confidences divided by 100.

``CloudGate`` adds what the ADR asks of the cloud path: a token-bucket rate
limit, retries with backoff, and the request's time budget.

Example:
    >>> tagger = HttpCloudTagger("http://127.0.0.1:9000/labels", taxonomy)  # doctest: +SKIP
    >>> tagger.tag(image_bytes, timeout_s=2.0)  # doctest: +SKIP
    [Tag(name='vehicle', confidence=0.93, category='object_type', ...)]
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from agora.errors import AgoraError
from agora.tagging.base import Tag
from agora.tagging.taxonomy import Taxonomy


class CloudUnavailable(AgoraError):
    """The cloud tagger failed, timed out or was rate limited."""

    status = 503
    type_slug = "cloud-tagger-unavailable"
    title = "Cloud tagger unavailable"


class CloudTagger(Protocol):
    """A remote labelling service."""

    provider: str
    # Provider names map onto it; the service swaps in each new taxonomy version.
    taxonomy: Taxonomy

    @property
    def model(self) -> str: ...

    def tag(self, image: bytes, *, timeout_s: float) -> list[Tag]: ...


def _mapped(
    taxonomy: Taxonomy, provider: str, model: str, labels: list[tuple[str, float]], ms: float
) -> list[Tag]:
    tags = []
    for name, confidence in labels:
        hit = taxonomy.map_cloud(provider, name)
        if hit is not None:
            tags.append(Tag(hit[1], confidence, hit[0], model, ms))
    return tags


class HttpCloudTagger:
    """The generic HTTP tagger (protocol in the module docstring)."""

    provider = "generic"

    def __init__(
        self, url: str, taxonomy: Taxonomy, *, token: str | None = None, max_labels: int = 10
    ) -> None:
        self.url = url
        self.taxonomy = taxonomy
        self.token = token
        self.max_labels = max_labels
        self.version = "unknown"
        self._client = httpx.Client()

    @property
    def model(self) -> str:
        return f"cloud-generic@{self.version}"

    def tag(self, image: bytes, *, timeout_s: float) -> list[Tag]:
        start = time.perf_counter()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"image": base64.b64encode(image).decode("ascii"), "max_labels": self.max_labels}
        try:
            resp = self._client.post(self.url, json=body, headers=headers, timeout=timeout_s)
            resp.raise_for_status()
            data = resp.json()
            labels = [(str(x["name"]), float(x["confidence"])) for x in data["labels"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise CloudUnavailable(f"generic cloud tagger failed: {exc}") from exc
        self.version = str(data.get("model_version") or self.version)
        ms = (time.perf_counter() - start) * 1000
        return _mapped(self.taxonomy, self.provider, self.model, labels, ms)


class RekognitionTagger:
    """AWS Rekognition adapter (boto3). ``client`` is a boto3 ``rekognition`` client."""

    provider = "rekognition"

    def __init__(
        self,
        client: Any,
        taxonomy: Taxonomy,
        *,
        project_version_arn: str | None = None,
        max_labels: int = 10,
        min_confidence: float = 50.0,
    ) -> None:
        self.client = client
        self.taxonomy = taxonomy
        self.project_version_arn = project_version_arn
        self.max_labels = max_labels
        self.min_confidence = min_confidence
        self.version = "custom" if project_version_arn else "unknown"

    @property
    def model(self) -> str:
        return f"rekognition@{self.version}"

    def tag(self, image: bytes, *, timeout_s: float) -> list[Tag]:
        from botocore.exceptions import BotoCoreError, ClientError

        start = time.perf_counter()
        try:
            if self.project_version_arn:
                resp = self.client.detect_custom_labels(
                    Image={"Bytes": image}, ProjectVersionArn=self.project_version_arn,
                    MaxResults=self.max_labels, MinConfidence=self.min_confidence,
                )  # fmt: skip
                raw = resp.get("CustomLabels", [])
            else:
                resp = self.client.detect_labels(
                    Image={"Bytes": image}, MaxLabels=self.max_labels,
                    MinConfidence=self.min_confidence,
                )  # fmt: skip
                raw = resp.get("Labels", [])
                self.version = str(resp.get("LabelModelVersion") or self.version)
        except (BotoCoreError, ClientError) as exc:
            raise CloudUnavailable(f"rekognition failed: {exc}") from exc
        labels = [(str(x["Name"]), float(x["Confidence"]) / 100.0) for x in raw]
        ms = (time.perf_counter() - start) * 1000
        return _mapped(self.taxonomy, self.provider, self.model, labels, ms)


class CloudGate:
    """Rate limit (token bucket), retries with backoff, and a time budget around a tagger."""

    def __init__(
        self,
        tagger: CloudTagger,
        *,
        rate_per_s: float = 5.0,
        burst: int = 10,
        attempts: int = 3,
        backoff_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tagger = tagger
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()
        self.calls = 0

    def _take_token(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate_per_s)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False

    def tag(self, image: bytes, *, deadline: float) -> list[Tag]:
        """Call the tagger before ``deadline`` (a ``time.monotonic`` instant)."""
        last: Exception | None = None
        for attempt in range(self.attempts):
            remaining = deadline - self._clock()
            if remaining <= 0.01:
                raise CloudUnavailable("time budget spent before the cloud tagger answered")
            if not self._take_token():
                raise CloudUnavailable("cloud tagger rate limit reached")
            try:
                self.calls += 1
                return self.tagger.tag(image, timeout_s=remaining)
            except CloudUnavailable as exc:
                last = exc
                pause = self.backoff_s * (2**attempt)
                if self._clock() + pause >= deadline:
                    break
                time.sleep(pause)
        raise CloudUnavailable(f"cloud tagger failed after retries: {last}")
