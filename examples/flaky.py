"""Retries: a step that fails its first attempts, retried with a backoff until it succeeds.

``mirror-artifact`` copies a release artifact into an internal registry. Fetching it from the
(simulated) upstream registry is flaky: ``fetch-artifact`` fails its first ``fail_attempts``
attempts (2 by default) with a retryable error. Its function default
``retry=ExecutionRetry(retries=3, backoff=2s)`` allows up to 4 attempts, two seconds apart, so
the child goes Executing -> Backoff -> Executing -> Backoff -> Executing -> Completed, and the
parent simply waits for it. ``status.attempts`` of the child keeps the failed attempts and their
errors. With ``fail_attempts`` of 4 or more the retries run out: the parent receives a
:class:`kontinue.ChildFailed` and fails with it.

Run it on the embedded dev server::

    kontinue dev --worker examples.workers:worker
    # in another shell (KUBECONFIG as printed by kontinue dev):
    kubectl create -f examples/flaky-execution.yaml
    kubectl get executions -w
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from pydantic import BaseModel, Field

import kontinue

worker = kontinue.Worker(group="examples")


class MirrorArgs(BaseModel):
    """The artifact to mirror, and how flaky upstream is today."""

    artifact: str = Field(
        default="checkout-1.4.2.tar.gz", description="Artifact to copy into the mirror"
    )
    fail_attempts: int = Field(
        default=2,
        ge=0,
        description="Simulated outage: how many fetch attempts fail before one succeeds",
    )


class FetchArgs(BaseModel):
    """An artifact to fetch from upstream."""

    artifact: str = Field(description="Artifact to fetch")
    fail_attempts: int = Field(
        default=0, ge=0, description="How many attempts fail before one succeeds"
    )


class FetchResult(BaseModel):
    """A fetched artifact."""

    artifact: str = Field(description="The artifact")
    digest: str = Field(description="Content digest of the fetched artifact")
    attempts: int = Field(description="The attempt that succeeded (1 if no retry was needed)")


class MirrorResult(BaseModel):
    """Where the mirrored artifact now lives."""

    location: str = Field(description="URL of the artifact in the internal mirror")
    digest: str = Field(description="Content digest of the artifact")
    fetch_attempts: int = Field(description="Attempts the upstream fetch needed")


@worker.function(
    "fetch-artifact",
    description="Fetches an artifact from a flaky upstream registry.",
    retry=kontinue.ExecutionRetry(retries=3, backoff=timedelta(seconds=2)),
)
async def fetch_artifact(ktx: kontinue.ExecutionContext, args: FetchArgs) -> FetchResult:
    """Fetches the artifact; the first ``fail_attempts`` attempts fail as upstream would.

    The failure depends only on ``ktx.attempt`` (the current attempt, 1-based), never on
    chance, so the example behaves the same on every run. A :class:`kontinue.RetryableError`
    (like any plain exception) fails the attempt and lets the retry policy try again.
    """
    if ktx.attempt <= args.fail_attempts:
        ktx.logger.warning("upstream unavailable (attempt %d)", ktx.attempt)
        raise kontinue.RetryableError(
            f"upstream registry answered 503 Service Unavailable (attempt {ktx.attempt})"
        )
    digest = hashlib.sha256(args.artifact.encode()).hexdigest()
    ktx.logger.info("fetched %s on attempt %d", args.artifact, ktx.attempt)
    return FetchResult(artifact=args.artifact, digest=f"sha256:{digest}", attempts=ktx.attempt)


@worker.function(
    "mirror-artifact",
    display_name="Mirror an artifact",
    description="Copies a release artifact from upstream into the internal mirror.",
)
async def mirror_artifact(ktx: kontinue.ExecutionContext, args: MirrorArgs) -> MirrorResult:
    """Fetches the artifact in a child execution (which retries on its own), then records
    where the mirror keeps it. The parent never sees the failed attempts, only the result."""
    fetched = await ktx.execute(
        fetch_artifact,
        FetchArgs(artifact=args.artifact, fail_attempts=args.fail_attempts),
        step="fetch",
    )
    return MirrorResult(
        location=f"https://mirror.example.com/artifacts/{fetched.artifact}",
        digest=fetched.digest,
        fetch_attempts=fetched.attempts,
    )
