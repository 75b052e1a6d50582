"""What a report holds, as pure computation (no Django, no Celery): the tidy rows and their CSV / JSON exports
(`exports`), the statistics and tables of a report (`report`, `report_mrmc`), readers beside the machine observer
model by model (`model_comparison`), the report's lead ranking of the models (`model_ranking`), reader subgroups
(`reader_groups`), plain words for people (`wording`), the figures (`figures`, matplotlib) and the PDF (`pdf`, reportlab).

This package imports none of its modules, so that importing one (a web process reads `exports`) does not load
matplotlib or reportlab."""
