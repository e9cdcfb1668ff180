"""The capacity model's arithmetic, checked against plans worked out by hand (docs/scaling.md prints its own)."""

from __future__ import annotations

import pytest

from bench.bench_capacity import NODE_VCPUS, PRIMARY_VCPUS, TARGET, UTILISATION, plan


def test_the_settings_the_worked_plans_below_assume():
    assert (TARGET, UTILISATION, NODE_VCPUS, PRIMARY_VCPUS) == (10_000, 0.70, 8, 64)


def test_a_plan_with_webhooks_worked_by_hand():
    # Per answer: app 2.78 ms, worker 22.6 ms, PostgreSQL 14.44 ms of CPU, 33.3 commits, 18 KiB of WAL.
    worked = plan(2.78, 22.6, 14.44, 33.3, 18 * 1024)
    # 10,000 × 2.78 ms = 27.8 busy cores; / 0.7 = 39.71 → 40 cores; / 8 = 5 nodes.
    assert worked.app_busy == pytest.approx(27.8)
    assert (worked.app_cores, worked.app_nodes) == (40, 5)
    # 10,000 × 22.6 ms = 226 busy cores; / 0.7 = 322.86 → 323 cores; / 8 = 40.375 → 41 nodes.
    assert worked.worker_busy == pytest.approx(226.0)
    assert (worked.worker_cores, worked.worker_nodes) == (323, 41)
    # 10,000 × 14.44 ms = 144.4 busy cores; / 0.7 = 206.29 → 207 cores.
    assert worked.db_busy == pytest.approx(144.4)
    assert worked.db_cores == 207
    # 10,000 × 33.3 = 333,000 commits/s; 10,000 × 18,432 bytes = 184,320,000 bytes/s = 175.78 MiB/s.
    assert worked.commits_per_second == pytest.approx(333_000)
    assert worked.wal_mib_per_second == pytest.approx(175.78125)
    # One 8-vCPU node at 70 % is 5.6 busy cores: 5,600 / 2.78 = 2,014.4 → 2,014 answers/s of the app,
    # 5,600 / 22.6 = 247.8 → 247 of the worker. A 64-vCPU primary: 44,800 / 14.44 = 3,102.5 → 3,102, short of
    # the target.
    assert (worked.app_per_node, worked.worker_per_node) == (2014, 247)
    assert worked.primary_carries == 3102
    assert not worked.fits_one_primary


def test_a_plan_without_webhooks_worked_by_hand_rounds_exact_quotients_to_themselves():
    # Per answer: app 2.10 ms, worker 3.19 ms, PostgreSQL 1.96 ms, 5.5 commits, 6.5 KiB of WAL.
    worked = plan(2.10, 3.19, 1.96, 5.5, 6.5 * 1024)
    # 21 busy cores / 0.7 = 30 cores exactly (30.000000000000004 in floating point), then 30 / 8 = 3.75 → 4 nodes.
    assert (worked.app_cores, worked.app_nodes) == (30, 4)
    # 31.9 busy cores / 0.7 = 45.57 → 46 cores; / 8 = 5.75 → 6 nodes.
    assert (worked.worker_cores, worked.worker_nodes) == (46, 6)
    # 19.6 busy cores / 0.7 = 28 cores exactly.
    assert worked.db_cores == 28
    # 10,000 × 6,656 bytes = 66,560,000 bytes/s = 63.48 MiB/s; 55,000 commits/s.
    assert worked.wal_mib_per_second == pytest.approx(63.4765625)
    assert worked.commits_per_second == pytest.approx(55_000)
    # 44,800 / 1.96 = 22,857.1 → 22,857 answers/s: the target fits one primary.
    assert worked.primary_carries == 22857
    assert worked.fits_one_primary


def test_a_machine_exactly_full_is_enough_and_one_answer_more_needs_the_next():
    # 2.8 ms: 28 busy cores / 0.7 = 40 cores = 5 nodes exactly; 5,600 / 2.8 = 2,000 answers/s a node.
    exact = plan(2.8, 2.8, 2.8, 1, 1024)
    assert (exact.app_cores, exact.app_nodes, exact.app_per_node) == (40, 5, 2000)
    # 2.801 ms: 28.01 / 0.7 = 40.01 → 41 cores → 6 nodes.
    over = plan(2.801, 2.8, 2.8, 1, 1024)
    assert (over.app_cores, over.app_nodes) == (41, 6)
    # 4.48 ms at the primary: 44,800 / 4.48 = 10,000 answers/s (9,999.999999999998 in floating point), the
    # target exactly: it fits.
    full = plan(1, 1, 4.48, 1, 1024)
    assert (full.primary_carries, full.fits_one_primary) == (TARGET, True)
    assert not plan(1, 1, 4.49, 1, 1024).fits_one_primary
