"""The second-factor pages: verify a sign-in, enrol an authenticator app (QR code drawn here), recovery codes."""

import base64

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token

from accounts import services
from accounts.forms import CodeForm
from accounts.models import RecoveryCodeDevice
from accounts.qr import qr_svg
from accounts.sign_in_state import oidc_enabled
from studies import roles


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _is_verified(request) -> bool:
    return bool(getattr(request.user, "is_verified", lambda: False)())


def _with_next(name: str, request) -> str:
    return f"{reverse(name)}?{request.GET.urlencode()}" if request.GET else reverse(name)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """Confirm this sign-in with a code from the authenticator app or a recovery code."""
    user = request.user
    if not roles.is_staff_member(user) or _is_verified(request):
        return redirect(_next_url(request))
    if services.confirmed_totp_device(user) is None:
        return redirect(_with_next("accounts:enrol", request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            if isinstance(device, RecoveryCodeDevice):
                services.record_recovery_code_use(user=user)
            return redirect(_next_url(request))
        form.add_error("code", _("That code is not right, or it was used already. Try the next code."))
    return _no_store(
        render(request, "accounts/verify.html", {"form": form, "next": _next_url(request)}, status=200)
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def enrol(request):
    """Add an authenticator app: scan the QR code (or type the key), then confirm with its first code."""
    user = request.user
    if not roles.is_staff_member(user):
        return redirect(_next_url(request))
    if services.confirmed_totp_device(user) is not None and not _is_verified(request):
        return redirect(_with_next("accounts:verify", request))
    device = services.start_totp_enrolment(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.confirm_totp_enrolment(user=user, device=device, token=form.cleaned_data["code"])
        if codes is not None:
            otp_login(request, device)
            return _no_store(
                render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)})
            )
        form.add_error(
            "code", _("That code is not right. Check the time on your phone and try the next code.")
        )
    context = {
        "form": form,
        "qr_svg": qr_svg(device.config_url),
        "secret": base64.b32encode(device.bin_key).decode("ascii"),
        "next": _next_url(request),
    }
    return _no_store(render(request, "accounts/enrol.html", context))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request):
    """See how many recovery codes are left, and replace them (the new ones are shown once)."""
    user = request.user
    if not roles.is_staff_member(user) or services.confirmed_totp_device(user) is None:
        return redirect(_with_next("accounts:enrol", request))
    if not _is_verified(request):
        return redirect(f"{reverse('accounts:verify')}?next={reverse('accounts:recovery_codes')}")
    if request.method == "POST":
        codes = services.issue_recovery_codes(user=user, actor=user)
        return _no_store(
            render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)})
        )
    device = RecoveryCodeDevice.objects.filter(user=user).first()
    left = device.unused_count() if device else 0
    return _no_store(
        render(request, "accounts/recovery_codes_left.html", {"left": left, "next": _next_url(request)})
    )


def _hospital_sign_in(name: str):
    """accounts.oidc's view `name`, loaded with mozilla-django-oidc and requests at the first request when the
    hospital sign-in is configured; 404 when it is not (web processes of a site without it never load them)."""

    def view(request, *args, **kwargs):
        if not oidc_enabled():
            raise Http404("hospital sign-in is not configured")
        from accounts import oidc

        return getattr(oidc, name)(request, *args, **kwargs)

    view.__name__ = view.__qualname__ = f"oidc_{name}"
    return view


oidc_sign_in = _hospital_sign_in("sign_in")
oidc_callback = _hospital_sign_in("callback")
oidc_sign_out = _hospital_sign_in("sign_out")
