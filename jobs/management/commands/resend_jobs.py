"""Send again the jobs waiting for a worker whose message was lost or never sent (the sweep every worker runs)."""

from django.core.management.base import BaseCommand

from jobs.services import resend_waiting, resent_line


class Command(BaseCommand):
    help = (
        "Send again every job that is queued but was not taken by a worker within JOBS_RESEND_AFTER_S (its "
        "message was lost, e.g. Redis restarted), whose send failed (the broker was down), or that is running "
        "with a stale heartbeat. Prints one line per job sent again."
    )

    def handle(self, *args, **options):
        resent = resend_waiting()
        for job in resent:
            self.stdout.write(resent_line(job))
        if not resent:
            self.stdout.write("no job to send again")
