from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("<str:label>/<int:pk>/progress.json", views.progress, name="progress"),
]
