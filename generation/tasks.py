"""Celery tasks of the `gpu` queue (routed by `generation.tasks.*` in settings); thin wrappers over services.

acks_late + reject_on_worker_lost: a task whose worker dies is delivered again, and the service resumes the
job where the dead run stopped. Prefetching is a worker setting (CELERY_WORKER_PREFETCH_MULTIPLIER = 1), so a
worker never holds a second long task while it runs one.
"""

from celery import shared_task

from generation import services, training_service


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def run_generation_job(self, job_id: int) -> str:
    job = services.run_generation_job(job_id, task_id=self.request.id or "")
    return job.status if job is not None else "held by another run"


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def run_training(self, run_id: int) -> str:
    run = training_service.run_training(run_id, task_id=self.request.id or "")
    return run.status
