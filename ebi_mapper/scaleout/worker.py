"""``ebi-mapper worker``: one member of the cluster, holding its fair share of partitions.

Every second the coordinator (this module, on the main thread) heartbeats, renews the leases of
the partitions it holds, gives back (after draining: the runner stops reading and settles what
is in flight, then the lease is released) the ones above its fair share, and claims free ones up
to it. Each held partition is delivered by a :class:`~.partition.PartitionRunner` thread. A
lease that cannot be renewed (another worker took it, or Redis did not answer for longer than the
lease) stops its runner at once; its unacknowledged entries are re-processed by the next owner.
When Redis restarts, the coordinator and the runners wait and retry; leases that expired meanwhile
are claimed again (tests/scaleout/test_fault_e2e.py restarts Redis during a run).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .leases import Leases, fair_share
from .limiter import RedisRateLimiter
from .partition import PartitionRunner
from .queue import GROUP, Keys, ensure_partitions, ensure_pk_keys

__all__ = ["Worker", "WorkerConfig"]

log = logging.getLogger("ebi_mapper.scaleout")

_TICK = 1.0  # seconds between heartbeats / lease renewals
_TRIM_EVERY = 10.0  # seconds between trims of acknowledged entries from the streams


@dataclass
class WorkerConfig:
    """What a worker needs besides Redis: the mapping's engine and plan, how to make sinks, tuning."""

    mapper: Any
    plan: Any
    make_sinks: Callable[[int], tuple[Any, Any]]  # partition -> (events sink, bespoke sink): files apart per partition
    options: Any  # DeliveryOptions
    tenant: object
    state_dir: Path
    bespoke_route: str | None = None
    lease_ttl: float = 5.0
    partitions: int | None = None
    exempt: tuple[str, ...] = field(default=("bespoke",))


class Worker:
    """Claims, renews and releases partitions and runs one PartitionRunner per partition held."""

    def __init__(self, client: Any, keys: Keys, config: WorkerConfig, *, me: str | None = None):
        self.client = client
        self.keys = keys
        self.config = config
        self.mapper = config.mapper
        self.plan = config.plan
        self.options = config.options
        self.bespoke_route = config.bespoke_route
        self.state_dir = config.state_dir
        self.make_sinks = config.make_sinks
        self.me = me or f"{uuid.uuid4().hex[:10]}"
        self.leases = Leases(client, keys, self.me, ttl=config.lease_ttl)
        self.partitions = ensure_partitions(client, keys, config.partitions)
        self.pk_keys = ensure_pk_keys(client, keys, self.partitions)  # Redis and every partition's state file key PKs alike
        self.runners: dict[int, PartitionRunner] = {}
        self._renewed: dict[int, float] = {}
        self._releasing: set[int] = set()
        self._last_trim = 0.0
        self._redis_ok = True

    def make_limiter(self) -> RedisRateLimiter:
        return RedisRateLimiter(self.client, prefix=self.keys.prefix, tenant=self.config.tenant,
                                classes=self.plan.limits, global_limit=self.plan.global_limit,
                                exempt=self.config.exempt, safety=self.options.safety)

    # -- the coordinator ---------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, then drain every partition, give the leases back and leave."""
        try:
            while not stop.is_set():
                self.tick()
                stop.wait(_TICK)
        finally:
            self.shutdown()

    def tick(self) -> None:
        """One round: heartbeat, renew, reap, rebalance, trim (Redis errors: wait for the next round)."""
        import redis

        now = time.monotonic()
        self._reap()
        try:
            live = self.leases.heartbeat()
            for p, runner in list(self.runners.items()):
                if self.leases.renew(p, runner.value):
                    self._renewed[p] = now
                elif runner.alive and not runner.stopping.is_set():
                    log.warning("partition %d: lease lost; stopping its runner", p)
                    runner.lost = True
                    runner.stop()
            self._rebalance(len(set(live) | {self.me}))
            if now - self._last_trim > _TRIM_EVERY:
                self._last_trim = now
                self._trim()
            if not self._redis_ok:
                log.warning("Redis answers again")
            self._redis_ok = True
        except redis.RedisError as exc:
            if self._redis_ok:
                log.warning("Redis does not answer (%s); holding on", type(exc).__name__)
            self._redis_ok = False
        # Not renewed for a lease's lifetime: another worker may hold it now, stop sending.
        for p, runner in self.runners.items():
            if now - self._renewed.get(p, now) > self.config.lease_ttl * 0.8 and not runner.stopping.is_set():
                runner.lost = True
                runner.stop()

    def _rebalance(self, live: int) -> None:
        share = fair_share(self.partitions, live)
        active = [p for p, r in self.runners.items() if not r.stopping.is_set()]
        for p in active[share:]:  # above the fair share: drain, then release (in _reap)
            self._releasing.add(p)
            self.runners[p].stop()
        free = [p for p in range(self.partitions) if p not in self.runners]
        random.shuffle(free)
        for p in free:
            if len(active) >= share:
                break
            value = self.leases.claim(p)
            if value is None:
                continue
            runner = PartitionRunner(self, p, value)
            self.runners[p] = runner
            self._renewed[p] = time.monotonic()
            active.append(p)
            runner.start()

    def _reap(self) -> None:
        """Runners that ended: give their lease back (if still ours) so the partition moves on."""
        import redis

        for p, runner in list(self.runners.items()):
            if runner.alive:
                continue
            if runner.error:
                log.error("partition %d: %s; giving it back", p, runner.error)
            try:
                if not runner.lost:
                    self.leases.release(p, runner.value)
            except redis.RedisError:
                pass  # it expires by itself
            del self.runners[p]
            self._renewed.pop(p, None)
            self._releasing.discard(p)

    def _trim(self) -> None:
        """Delete acknowledged entries: everything before the oldest pending one (or the last delivered)."""
        for p in list(self.runners):
            stream = self.keys.stream(p)
            pending = self.client.xpending(stream, GROUP)
            if pending["pending"]:
                floor = pending["min"]
            else:
                groups = {g["name"]: g for g in self.client.xinfo_groups(stream)}
                g = groups.get(GROUP.encode()) or groups.get(GROUP)
                floor = g["last-delivered-id"] if g else None
            if floor:
                self.client.xtrim(stream, minid=floor, approximate=False)

    def shutdown(self, grace: float | None = None) -> None:
        """Drain every partition (the loops' graceful stop), then release the leases and leave."""
        import redis

        for runner in self.runners.values():
            runner.stop()
        deadline = time.monotonic() + (grace if grace is not None else self.options.stop_grace + 5.0)
        for runner in list(self.runners.values()):
            while runner.alive and time.monotonic() < deadline:
                try:  # keep the leases while the runners finish their in-flight requests
                    for p, r in self.runners.items():
                        if r.alive:
                            self.leases.renew(p, r.value)
                except redis.RedisError:
                    pass
                runner.thread.join(0.5)
        self._reap()
        try:
            self.leases.leave()
        except redis.RedisError:
            pass

    def status(self) -> dict[str, Any]:
        """This worker's view: partitions held and what their runners acknowledged."""
        return {"worker": self.me, "partitions": {p: {"acked": r.acked, "alive": r.alive, "stopping": r.stopping.is_set()}
                                                  for p, r in self.runners.items()}}
