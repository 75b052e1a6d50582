from celery import shared_task

from metrics import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_metrics_job(job_id: int) -> str:
    return services.run_metrics_job(job_id).status
