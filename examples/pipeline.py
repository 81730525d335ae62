"""A deployment pipeline: build, test, staging, a soak, a human approval, then production.

Each stage is its own registered function, run as a child execution of ``deploy-pipeline``, so
``kubectl get executions`` shows the pipeline and every stage as separate resources (named
``<pipeline>-build``, ``<pipeline>-test``, ...), each with its own phase, retries and result.

Run it on the embedded dev server::

    kontinue dev --worker examples.workers:worker
    # in another shell (KUBECONFIG as printed by kontinue dev):
    kubectl create -f examples/pipeline-execution.yaml
    kubectl get executions -w          # build, test and staging run, then the pipeline sleeps

After the 30 s soak on staging the pipeline waits for an approval, a Suspension named
``<pipeline>-approval``; approve it (or set ``approved`` to false to reject it)::

    kubectl get suspensions
    kubectl patch suspension <pipeline>-approval --type merge -p \\
      '{"spec":{"resume":{"data":{"approved":true,"approver":"alice","comment":"LGTM"}}}}'

The resume data is checked against the :class:`Approval` schema published in the Suspension.
Stop the dev server during the soak or while it waits for approval and start it again: the
pipeline carries on where it was, without building or deploying anything twice.

The stages only simulate their work (and log what they would do); a real pipeline would run
``ktx.run_script(...)`` or ``ktx.run_job(...)`` to build images and apply manifests.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from pydantic import BaseModel, Field

import kontinue

worker = kontinue.Worker(group="examples")

REGISTRY = "registry.example.com/platform"


# Arguments and results -----------------------------------------------------------------------


class PipelineArgs(BaseModel):
    """What to ship, and how long it soaks on staging."""

    service: str = Field(default="checkout", description="Service to build and deploy")
    git_ref: str = Field(default="main", description="Git ref (branch, tag or commit) to build")
    soak_seconds: int = Field(
        default=30,
        ge=0,
        description="How long the release runs on staging before production is proposed",
    )
    production_replicas: int = Field(default=3, ge=1, description="Replicas in production")


class BuildArgs(BaseModel):
    """The source to build an image from."""

    service: str = Field(description="Service to build")
    git_ref: str = Field(description="Git ref to build")


class BuildResult(BaseModel):
    """The image a build pushed."""

    image: str = Field(description="Image reference, tag included")
    digest: str = Field(description="Content digest of the pushed image")


class SuiteArgs(BaseModel):
    """The image whose test suite runs."""

    image: str = Field(description="Image under test")


class SuiteReport(BaseModel):
    """Outcome of a test suite run."""

    passed: int = Field(description="Number of passing tests")
    failed: int = Field(description="Number of failing tests")


class DeployArgs(BaseModel):
    """A rollout of one image of one service to one environment."""

    service: str = Field(description="Service to deploy")
    image: str = Field(description="Image to roll out")
    replicas: int = Field(default=1, ge=1, description="Desired number of replicas")


class DeployResult(BaseModel):
    """Where a rollout landed."""

    environment: str = Field(description="Environment deployed to")
    url: str = Field(description="Where the service answers")
    replicas: int = Field(description="Replicas running the new image")


class Approval(BaseModel):
    """The approval form a person fills in to let the release go to production."""

    approved: bool = Field(description="True to deploy to production, false to stop here")
    approver: str = Field(min_length=1, description="Who decided")
    comment: str | None = Field(default=None, description="Why (shown in the pipeline's result)")


class PipelineResult(BaseModel):
    """What the pipeline shipped, and who let it through."""

    service: str = Field(description="Service deployed")
    image: str = Field(description="Image running in staging and production")
    tests_passed: int = Field(description="Tests that passed on the image")
    staging: DeployResult = Field(description="The staging rollout")
    production: DeployResult = Field(description="The production rollout")
    approved_by: str = Field(description="Who approved the production deploy")
    comment: str | None = Field(default=None, description="The approver's comment")


# Stages: one registered function each, run as child executions ------------------------------


@worker.function(
    "build",
    description="Builds and pushes the image of a service at a git ref.",
    retry=kontinue.ExecutionRetry(retries=2, backoff=timedelta(seconds=10)),
)
async def build(ktx: kontinue.ExecutionContext, args: BuildArgs) -> BuildResult:
    """Builds the image (simulated: the digest is derived from the service and the ref)."""
    digest = hashlib.sha256(f"{args.service}@{args.git_ref}".encode()).hexdigest()
    tag = f"{args.git_ref.replace('/', '-')}-{digest[:7]}"
    image = f"{REGISTRY}/{args.service}:{tag}"
    ktx.logger.info("building %s from %s", image, args.git_ref)
    return BuildResult(image=image, digest=f"sha256:{digest}")


@worker.function("test", description="Runs the test suite against an image.")
async def run_tests(ktx: kontinue.ExecutionContext, args: SuiteArgs) -> SuiteReport:
    """Runs the test suite of an image (simulated: every test passes)."""
    ktx.logger.info("testing %s", args.image)
    return SuiteReport(passed=42, failed=0)


@worker.function(
    "deploy-staging",
    description="Rolls an image out to staging.",
    retry=kontinue.ExecutionRetry(retries=2, backoff=timedelta(seconds=10)),
)
async def deploy_staging(ktx: kontinue.ExecutionContext, args: DeployArgs) -> DeployResult:
    """Rolls the image out to the staging cluster."""
    ktx.logger.info("deploying %s to staging (%d replicas)", args.image, args.replicas)
    return DeployResult(
        environment="staging",
        url=f"https://{args.service}.staging.example.com",
        replicas=args.replicas,
    )


@worker.function(
    "deploy-prod",
    description="Rolls an image out to production.",
    retry=kontinue.ExecutionRetry(retries=2, backoff=timedelta(seconds=10)),
)
async def deploy_prod(ktx: kontinue.ExecutionContext, args: DeployArgs) -> DeployResult:
    """Rolls the image out to the production cluster."""
    ktx.logger.info("deploying %s to production (%d replicas)", args.image, args.replicas)
    return DeployResult(
        environment="production",
        url=f"https://{args.service}.example.com",
        replicas=args.replicas,
    )


# The pipeline --------------------------------------------------------------------------------


@worker.function(
    "deploy-pipeline",
    display_name="Deployment pipeline",
    description="Builds, tests and deploys a service to staging, then to production once a "
    "person approves.",
)
async def deploy_pipeline(ktx: kontinue.ExecutionContext, args: PipelineArgs) -> PipelineResult:
    """Ships a service: each stage is a child execution, the soak a durable sleep, and the
    production deploy waits for an :class:`Approval`.

    Raises :class:`kontinue.NonRetryableError` when tests fail or the approval is refused:
    running the pipeline again would not change either answer.
    """
    built = await ktx.execute(
        build, BuildArgs(service=args.service, git_ref=args.git_ref), step="build"
    )
    report = await ktx.execute(run_tests, SuiteArgs(image=built.image), step="test")
    if report.failed:
        raise kontinue.NonRetryableError(f"{report.failed} tests failed on {built.image}")

    staging = await ktx.execute(
        deploy_staging,
        DeployArgs(service=args.service, image=built.image),
        step="deploy-staging",
    )
    ktx.logger.info("soaking %s on staging for %ds", built.image, args.soak_seconds)
    await ktx.sleep(timedelta(seconds=args.soak_seconds), step="soak")

    approval = await ktx.suspend(
        f"Approve production deploy of {built.image}?", data=Approval, step="approval"
    )
    if not approval.approved:
        reason = f": {approval.comment}" if approval.comment else ""
        raise kontinue.NonRetryableError(
            f"production deploy of {built.image} rejected by {approval.approver}{reason}"
        )

    production = await ktx.execute(
        deploy_prod,
        DeployArgs(service=args.service, image=built.image, replicas=args.production_replicas),
        step="deploy-prod",
    )
    return PipelineResult(
        service=args.service,
        image=built.image,
        tests_passed=report.passed,
        staging=staging,
        production=production,
        approved_by=approval.approver,
        comment=approval.comment,
    )
