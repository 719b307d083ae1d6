"""The Ray side of `forecaster.compare.fanout`: start or join Ray, send one task per fit, gather the results.

Imported only when a comparison runs with `--workers` or `--ray-address`, so nothing else pays for
importing Ray. See `forecaster.compare.fanout` for the design (threads, MLflow children, retries).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

import ray

from forecaster.compare.jobs import (
    MAX_RETRIES,
    OBJECT_STORE_BYTES,
    Job,
    Plan,
    plan_threads,
    task_env,
    with_threads,
)
from forecaster.errors import ConfigError


def run(jobs: list[Job], fit_one, *, plan: Plan, parent: str | None, console=None) -> list:
    """Every job as a Ray task (children of the run `parent`); the results in the jobs' order."""
    say = console.print if console is not None else lambda *args: None
    jobs = [with_threads(job, plan_threads(plan, job.cfg.trainer.threads)) for job in jobs]
    started = _start(plan, max((job.cfg.trainer.threads for job in jobs), default=1))
    try:
        return _gather(jobs, fit_one, plan, parent, say)
    finally:
        if started:
            ray.shutdown()


def map_calls(fn, calls: list[tuple], *, plan: Plan, threads: int, names: list[str] | None = None) -> list:
    """`fn(*args)` for every `args` in `calls` as Ray tasks of `threads` threads each (at most
    `plan.workers` at once when given), run from this working directory; the results in order.
    A worker that dies is retried (`MAX_RETRIES`); an exception in `fn` fails the whole map and
    the other tasks are cancelled (`tune --workers`: every task is one worker's share of a study)."""

    def submit(i: int) -> ray.ObjectRef:
        options = _options(threads, names[i] if names else fn.__name__)
        return _call_task.options(**options).remote(fn, calls[i], os.getcwd())

    started = _start(plan, threads)
    try:
        return _in_flight(len(calls), submit, plan.workers or len(calls))
    finally:
        if started:
            ray.shutdown()


def _in_flight(count: int, submit, limit: int) -> list:
    """`submit(i)` (a task's ref) for i in 0..count-1, at most `limit` tasks in flight; their results
    in order. A task's exception is raised as the function's own error (a ForecasterError prints as
    one), and the tasks still pending are cancelled (also on Ctrl-C)."""
    results, pending, i = [None] * count, {}, 0
    try:
        while i < count or pending:
            while i < count and len(pending) < limit:
                pending[submit(i)] = i
                i += 1
            done, _ = ray.wait(list(pending), num_returns=1)
            results[pending.pop(done[0])] = ray.get(done[0])
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause if isinstance(exc.cause, BaseException) else None
        raise (cause or exc) from None
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
    return results


@ray.remote
def _call_task(fn, args: tuple, cwd: str):
    """One call of `map_calls` in a Ray worker, from the driver's working directory where it exists."""
    import torch

    if os.path.isdir(cwd):
        os.chdir(cwd)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    return fn(*args)


def _options(threads: int, name: str) -> dict:
    """A task of `threads` CPUs, its worker started with that thread count, retried if its worker dies."""
    return {
        "num_cpus": threads,
        "runtime_env": {"env_vars": task_env(threads)},  # set before the worker process imports torch
        "max_retries": MAX_RETRIES,
        "retry_exceptions": False,
        "name": name,
    }


def _start(plan: Plan, threads: int) -> bool:
    """Join the cluster at `plan.address`, or start a local Ray for `plan.workers` tasks of `threads`
    threads. Returns whether this call started (and so must stop) Ray."""
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING, "configure_logging": False}
    if plan.address:
        _join(plan.address, quiet)
    else:
        ray.init(
            address="local",  # a new Ray of our own, even where another one runs on this machine
            num_cpus=plan.workers * threads,
            object_store_memory=OBJECT_STORE_BYTES,
            include_dashboard=False,
            **quiet,
        )
    return True


def _join(address: str, quiet: dict) -> None:
    """Connect to the cluster at `address`, or say what to fix."""
    try:
        ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ray.exceptions.RayError) as exc:
        if "auth" in str(exc).lower():  # Ray 2.60's `ray start --head` asks drivers for a token by default
            raise ConfigError(
                f"--ray-address {address}: the cluster asks for its token (Ray's token authentication)\n"
                "  fix: export RAY_AUTH_MODE=token, with the cluster's token in ~/.ray/auth_token or RAY_AUTH_TOKEN"
            ) from None
        raise ConfigError(
            f"--ray-address {address}: cannot join a Ray cluster there ({str(exc).splitlines()[0]})\n"
            "  fix: start one with `ray start --head --port PORT`, or give its address"
        ) from None


def _gather(jobs: list[Job], fit_one, plan: Plan, parent: str | None, say) -> list:
    """Submit the jobs (at most `plan.workers` in flight when given) and collect their results."""
    data_refs: dict[str, ray.ObjectRef] = {}

    def submit(i: int) -> ray.ObjectRef:
        job = jobs[i]
        if job.key not in data_refs:  # one copy per data setting in the object store
            data_refs[job.key] = ray.put(job.data)
        say(f"[bold]{job.cfg.variant()}[/] seed {job.cfg.seed}: training on Ray ...")
        return _submit(job, fit_one, data_refs[job.key], parent)

    out = _in_flight(len(jobs), submit, plan.workers or len(jobs))
    return [(replace(fit, data=job.data), window_se) for job, (fit, window_se) in zip(jobs, out)]


def _submit(job: Job, fit_one, data_ref, parent: str | None) -> ray.ObjectRef:
    options = _options(job.cfg.trainer.threads, job.name)
    sent = replace(job, data=None, earlier=None)  # the data goes once through the object store
    return _fit_task.options(**options).remote(fit_one, sent, data_ref, parent, os.getcwd())


@ray.remote
def _fit_task(fit_one, job: Job, data, parent: str | None, cwd: str):
    """One fit in a Ray worker: as the sequential path runs it, as a child of `parent`."""
    import torch

    from forecaster.track import tracking

    if os.path.isdir(cwd):  # relative paths (the data file, sqlite:///mlflow.db) mean what they meant
        os.chdir(cwd)
    torch.set_num_threads(job.cfg.trainer.threads)
    job = replace(job, data=data, earlier=_earlier(job, parent))
    with tracking.under_parent(parent):
        fit, window_se = fit_one(job)
    return replace(fit, data=None), window_se


def _earlier(job: Job, parent: str | None):
    """This fit's child run under `parent` if an attempt (a stopped comparison's, or an earlier try of
    this task whose worker died) left one. A RUNNING one belongs to a dead attempt, since Ray retries a
    task only after its worker died: it is marked FAILED, so that the fit resumes it."""
    if parent is None:
        return None
    from forecaster.fit.experiment import experiment_name
    from forecaster.track import tracking

    tracking.open_experiment(job.cfg.tracking.uri, experiment_name(job.cfg))  # marks this host's dead runs
    run = tracking.child_runs(parent).get(job.name)
    if run is None or run.info.status != "RUNNING":
        return run
    dead = tracking.Run(run.info.run_id)
    dead.set_tags({tracking.DIED_TAG: "its Ray worker died; the task's retry resumes it"})
    dead.client.set_terminated(run.info.run_id, "FAILED")
    return tracking.child_runs(parent).get(job.name)
