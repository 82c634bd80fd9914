"""Provisioning jobs: ids in, a service call, nothing else."""

from chom.services import provisioning


def run_operation(operation_id: str) -> None:
    """Apply an Operation's plan (provision, deprovision, suspend, resume)."""
    provisioning.run_operation(operation_id)


def operation_failed(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ failure callback: once retries are spent, the Operation says why."""
    if job.retries_left:
        return
    provisioning.mark_failed(job.args[0], f"{exc_type.__name__}: {exc_value}")
