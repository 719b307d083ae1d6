"""A fanned-out fit's plain data (`forecaster.compare.jobs`): threads per fit under a plan, a job's
threads and child run name, and the environment its worker starts with."""

from __future__ import annotations

from types import SimpleNamespace

from forecaster.compare import jobs
from forecaster.config import load
from forecaster.fit.threads import threads_per_fit


def test_a_plan_shares_the_cores_and_a_job_keeps_a_smaller_thread_count():
    share = threads_per_fit(2)
    assert jobs.plan_threads(jobs.Plan(workers=2), None) == share
    assert jobs.plan_threads(jobs.Plan(workers=2), share + 4) == share  # never more than the share
    assert jobs.plan_threads(jobs.Plan(address="10.0.0.5:6379"), None) == 1  # a cluster: Ray counts the CPUs
    assert jobs.plan_threads(jobs.Plan(address="10.0.0.5:6379"), 4) == 4
    assert not jobs.Plan().parallel and jobs.Plan(workers=2).parallel and jobs.Plan(address="auto").parallel
    cfg = load(None, [("model.attention", "local"), ("seed", 43), ("trainer.threads", 3)])
    job = jobs.Job(cfg, key="k", data=SimpleNamespace())
    assert job.name == "local-seed43"  # the child run's name, as experiment.train names it
    assert jobs.with_threads(job, 2).cfg.trainer.threads == 2 and jobs.with_threads(job, 8).cfg.trainer.threads == 3
    assert job.cfg.trainer.threads == 3  # a new job: the comparison's own is left alone
    env = jobs.task_env(3)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3"
