from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("second-factor/verify/", views.verify, name="verify"),
    path("second-factor/enrol/", views.enrol, name="enrol"),
    path("second-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("oidc/authenticate/", views.oidc_sign_in, name="oidc_login"),
    path("oidc/callback/", views.oidc_callback, name="oidc_callback"),
    path("oidc/logout/", views.oidc_sign_out, name="oidc_logout"),
]
