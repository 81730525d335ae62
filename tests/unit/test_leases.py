"""Leader election judges expiry on its own clock, by when it last saw the Lease change."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from kontinue.clock import ManualClock
from kontinue.kube import AsyncKubeClient
from kontinue.kube.leases import LeaderElection, LeaseObserver


def _lease(holder: str | None, renewed: str, duration: int = 10) -> dict[str, object]:
    spec = {"holderIdentity": holder, "renewTime": renewed, "leaseDurationSeconds": duration}
    return {"metadata": {"name": "group"}, "spec": spec}


def test_a_lease_is_held_for_its_duration_from_when_its_record_last_changed() -> None:
    """Another host's renewTime is not trusted (its clock may be hours off): the record held
    still for the lease's duration on this clock is what ends it."""
    clock = ManualClock()
    observer = LeaseObserver(clock)
    skewed = "1999-01-01T00:00:00.000000Z"  # a holder whose clock is far behind
    assert observer.held(_lease("a", skewed), 15)
    clock.advance(9)
    assert observer.held(_lease("a", skewed), 15)
    clock.advance(2)
    assert not observer.held(_lease("a", skewed), 15)  # unchanged for 11 s > 10 s
    assert observer.held(_lease("a", "1999-01-01T00:00:05.000000Z"), 15)  # renewed: held again
    assert not observer.held(_lease(None, skewed), 15)  # released


def test_a_follower_takes_over_only_once_lease_time_has_passed(
    kubeconfig: str, namespace: str
) -> None:
    """Renewals, the renewal deadline and expiry all run on the injected clock: with a
    ManualClock a follower takes over exactly when a test moves lease time past the
    duration, and not a moment before."""
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))

    async def scenario() -> None:
        async with AsyncKubeClient.from_kubeconfig(kubeconfig, namespace=namespace) as client:
            leading = {"first": asyncio.Event(), "second": asyncio.Event()}

            def candidate(identity: str) -> LeaderElection:
                def changed(leader: bool) -> None:
                    if leader:
                        leading[identity].set()

                return LeaderElection(
                    client,
                    namespace,
                    "group",
                    identity,
                    changed,
                    clock,
                    lease_duration=6.0,
                    renew_period=2.0,
                )

            first, second = candidate("first"), candidate("second")
            running = asyncio.create_task(first.run())
            await asyncio.wait_for(leading["first"].wait(), 10)
            running.cancel()  # the holder dies without releasing: nobody renews now
            await asyncio.gather(running, return_exceptions=True)
            follower = asyncio.create_task(second.run())
            await asyncio.sleep(0.5)  # its first try reads the Lease (held)
            for _ in range(2):  # 4 s of lease time: not yet 6 s since it saw a change
                clock.advance(2)
                await asyncio.sleep(0.3)
                assert not second.is_leader
            clock.advance(2)
            await asyncio.wait_for(leading["second"].wait(), 10)
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)

    asyncio.run(scenario())
