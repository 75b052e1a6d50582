"""Password sign-in for every login form (the admin's and the readers'), refused while the client or the account
must still wait after failures (studies.ratelimit: a growing delay, never a lock); failures are counted from
Django's user_login_failed signal."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from studies import ratelimit


class RateLimitedModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and ratelimit.login_is_limited(request, username):
            # Stops every backend: Django then reports the attempt as a failed login, which is not counted (an
            # attempt during the wait does not make the wait longer).
            request.blindread_login_delayed = True
            raise PermissionDenied("too many failed sign-in attempts")
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def count_failed_login(sender, credentials, request=None, **kwargs):
    if request is None or getattr(request, "blindread_login_delayed", False):
        return
    ratelimit.register_login_failure(request, credentials.get("username"))


@receiver(user_logged_in)
def forget_failed_logins_of_user(sender, request, user, **kwargs):
    if request is None:
        return
    ratelimit.forget_login_failures(request, user.get_username())
