"""The report's figures and tables, each a file of its own (PNG, SVG, CSV), as the report job stored them.

Access as for the report itself (reports.views.researcher_page): researchers and staff of the surveys' project
(another project's figure answers 404). Shown inline on the report
page; with ?download=1 served as an attachment and logged as a download."""

from django.http import HttpResponse

from reports import selectors
from reports.models import DownloadLog
from reports.services import record_download
from reports.services.reports import read_stored
from reports.views import _problem, researcher_page


@researcher_page
def figure(request, pk: int, name: str):
    stored = selectors.stored_figure(pk, name, request.user)
    if stored is None:
        return _problem(request, "No such figure: the report may have been recomputed; reload its page.", 404)
    content = read_stored(stored.storage_name)
    response = HttpResponse(content, content_type=stored.content_type)
    if request.GET.get("download"):
        surveys = selectors.surveys_of_job(stored.job)
        record_download(
            user=request.user,
            what=DownloadLog.What.FIGURE,
            content=content,
            surveys=[survey.name for survey in surveys],
            models=sorted({survey.model_dataset.name for survey in surveys}),
        )
        response["Content-Disposition"] = f'attachment; filename="blindread-report-{pk}-{name}"'
    return response
