"""Fan-out/fan-in: roll a release out to several regions at once and summarise the outcome.

``rollout-regions`` starts one ``rollout-region`` child execution per region with
``asyncio.gather`` and waits for all of them. The children run in parallel, each one its own
Execution (``<parent>-region-<region>``) with its own retries; the parent's result aggregates
their typed results. Steps are claimed when ``ktx.execute`` is *called*, in list order, so the
gather replays deterministically whatever order the regions finish in.

Run it on the embedded dev server::

    kontinue dev --worker examples.workers:worker
    # in another shell (KUBECONFIG as printed by kontinue dev):
    kubectl create -f examples/fanout-execution.yaml
    kubectl get executions
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from pydantic import BaseModel, Field, field_validator

import kontinue

worker = kontinue.Worker(group="examples")


class RolloutArgs(BaseModel):
    """A release and the regions it goes to."""

    service: str = Field(default="checkout", description="Service to roll out")
    version: str = Field(default="1.4.2", description="Version to roll out")
    regions: list[str] = Field(
        default=["eu-west-1", "us-east-1", "ap-southeast-1"],
        min_length=1,
        description="Regions to roll out to, in parallel (each at most once)",
    )

    @field_validator("regions")
    @classmethod
    def _distinct(cls, regions: list[str]) -> list[str]:
        """Each region names a step of the workflow, so it may appear only once."""
        repeated = sorted({r for r in regions if regions.count(r) > 1})
        if repeated:
            raise ValueError(f"regions listed more than once: {', '.join(repeated)}")
        return regions


class RegionArgs(BaseModel):
    """A release in one region."""

    service: str = Field(description="Service to roll out")
    version: str = Field(description="Version to roll out")
    region: str = Field(description="Region to roll out to")


class RegionResult(BaseModel):
    """How the release went in one region."""

    region: str = Field(description="The region")
    healthy_pods: int = Field(description="Pods of the new version passing their health checks")
    p99_latency_ms: int = Field(description="p99 latency measured after the rollout")


class RolloutSummary(BaseModel):
    """The release across all its regions."""

    service: str = Field(description="Service rolled out")
    version: str = Field(description="Version rolled out")
    regions: list[RegionResult] = Field(description="One result per region, in request order")
    total_healthy_pods: int = Field(description="Healthy pods of the new version, all regions")
    slowest_region: str = Field(description="The region with the highest p99 latency")


@worker.function(
    "rollout-region",
    description="Rolls a release out to one region and reports its health.",
    retry=kontinue.ExecutionRetry(retries=2, backoff=timedelta(seconds=5)),
)
async def rollout_region(ktx: kontinue.ExecutionContext, args: RegionArgs) -> RegionResult:
    """Rolls the release out to one region (simulated: the figures are derived from the
    region's name, so every run reports the same)."""
    ktx.logger.info("rolling %s %s out to %s", args.service, args.version, args.region)
    seed = int(hashlib.sha256(args.region.encode()).hexdigest(), 16)
    return RegionResult(
        region=args.region, healthy_pods=3 + seed % 4, p99_latency_ms=80 + seed % 120
    )


@worker.function(
    "rollout-regions",
    display_name="Multi-region rollout",
    description="Rolls a release out to every region in parallel and summarises the outcome.",
)
async def rollout_regions(ktx: kontinue.ExecutionContext, args: RolloutArgs) -> RolloutSummary:
    """Fans out one ``rollout-region`` child per region and fans the results back in.

    If a region fails for good (its retries used up), ``asyncio.gather`` raises its
    :class:`kontinue.ChildFailed` and the rollout fails with it; the worker then cancels the
    regions still running.
    """
    results = await asyncio.gather(
        *(
            ktx.execute(
                rollout_region,
                RegionArgs(service=args.service, version=args.version, region=region),
                step=f"region-{region}",
            )
            for region in args.regions
        )
    )
    slowest = max(results, key=lambda r: r.p99_latency_ms)
    return RolloutSummary(
        service=args.service,
        version=args.version,
        regions=list(results),
        total_healthy_pods=sum(r.healthy_pods for r in results),
        slowest_region=slowest.region,
    )
