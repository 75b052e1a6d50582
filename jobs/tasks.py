"""The one Celery task of the job framework: run a job of any kind (`jobs.services.execute`).

acks_late + reject_on_worker_lost: a task whose worker dies is delivered again, and the job's runner resumes
where the dead run stopped. Prefetching is a worker setting (CELERY_WORKER_PREFETCH_MULTIPLIER = 1), so a worker
never holds a second long task while it runs one.
"""

from celery import shared_task

from jobs import services


@shared_task(name=services.RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self, label: str, pk: int) -> str:
    return services.execute(label, pk, task_id=self.request.id or "")
