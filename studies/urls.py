from django.contrib.auth.views import LogoutView
from django.urls import path
from django.views.i18n import set_language

from studies import views

app_name = "studies"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.reader_login, name="login"),
    path("logout/", LogoutView.as_view(next_page="studies:login"), name="logout"),
    path("language/", set_language, name="set_language"),
    path("join/<str:token>/", views.join, name="join"),
    path("profile/", views.profile, name="profile"),
    path("survey/<str:key>/", views.start, name="start"),
    path("survey/<str:key>/<int:position>/", views.item_page, name="item"),
    path("survey/<str:key>/practice/<int:position>/", views.practice_page, name="practice"),
    path("survey/<str:key>/practice/done/", views.practice_over, name="practice_over"),
    path("survey/<str:key>/repeat/<int:position>/", views.repeat_page, name="repeat"),
    path("survey/<str:key>/repeat/review/", views.repeat_review, name="repeat_review"),
    path("survey/<str:key>/items/<str:item_id>/pixels/", views.item_pixels, name="pixels"),
    path("survey/<str:key>/items/<str:item_id>/answer/", views.submit_answer, name="answer"),
    path("survey/<str:key>/pair/<int:position>/", views.pair_page, name="pair"),
    path("survey/<str:key>/pairs/<str:pair_id>/answer/", views.submit_pair_answer, name="pair_answer"),
    path("survey/<str:key>/review/", views.review, name="review"),
    path("survey/<str:key>/thanks/", views.thanks, name="thanks"),
]
