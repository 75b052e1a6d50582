"""What the metrics app tells the apps above it, which it never imports.

``observer_result_stored`` is sent once the transaction that stored a machine observer result has committed, with
``model``: the model (a synthetic CT dataset) whose result it is. The reports app listens and queues the stored
reports of that model's surveys again, so that they show the new result (reports.apps)."""

from django.dispatch import Signal

observer_result_stored = Signal()
