"""Landing, sign-in, joining a survey by invitation and the reader's profile."""

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from studies import ratelimit, roles
from studies.forms import ReaderProfileForm, ReaderSignupForm
from studies.models import Assignment, Invitation, ReaderProfile
from studies.selectors import reader_assignments
from studies.services import (
    INVITATION_PROBLEMS,
    StudyError,
    do_accept_invitation,
    do_join_with_new_account,
    do_update_reader_profile,
)
from studies.views.base import reader_page


@require_GET
@reader_page
def home(request):
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if roles.is_study_admin(request.user):
        return redirect("admin:index")
    if roles.is_researcher(request.user):
        return redirect("reports:index")
    if roles.is_staff_member(request.user):
        return redirect("admin:index")
    assignments = reader_assignments(request.user)
    return render(request, "studies/home.html", {"assignments": assignments})


class ReaderLoginView(LoginView):
    template_name = "studies/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if ratelimit.login_is_limited(request, request.POST.get("username")):
            form = self.get_form()
            return render(
                request,
                self.template_name,
                {"form": form, "limited": True},
                status=429,
            )
        return super().post(request, *args, **kwargs)


reader_login = reader_page(ReaderLoginView.as_view())


def _invitation_error(request, message: str, status: int):
    return render(request, "studies/join_problem.html", {"message": message}, status=status)


@require_http_methods(["GET", "POST"])
@reader_page
def join(request, token):
    limit = ratelimit.invitation_limit()
    address = ratelimit.client_address(request)
    if ratelimit.is_limited(limit, address):
        return _invitation_error(request, _("Too many invalid invitation links. Try again later."), 429)
    invitation = Invitation.objects.select_related("survey").filter(token=token).first()
    if invitation is None:
        ratelimit.register_failure(limit, address)
        return _invitation_error(request, _("This invitation link is not valid."), 404)
    own = request.user.is_authenticated and invitation.used_by_id == request.user.pk
    if own and (assignment := Assignment.objects.filter(invitation=invitation).first()) is not None:
        # The reader's own link again: back to their survey.
        return redirect("studies:start", assignment.key)
    if invitation.state != "pending":
        ratelimit.register_failure(limit, address)
        return _invitation_error(request, _(INVITATION_PROBLEMS[invitation.state]), 410)
    if invitation.survey.is_closed:
        return _invitation_error(request, _("This survey is closed."), 410)
    user = request.user
    if user.is_authenticated:
        if roles.is_staff_member(user):
            return _invitation_error(
                request, _("You are signed in as study staff. Sign out to join as a reader."), 403
            )
        existing = user.assignments.filter(survey=invitation.survey).first()
        if existing is not None:
            return redirect("studies:start", existing.key)
        if request.method == "POST":
            try:
                assignment = do_accept_invitation(token=token, reader=user)
            except StudyError as exc:
                return _invitation_error(request, _(str(exc)), 409)
            return _after_join(assignment)
        return render(request, "studies/join.html", {"signed_in": True})
    form = ReaderSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            assignment = do_join_with_new_account(
                token=token,
                username=form.cleaned_data["username"],
                email=form.cleaned_data.get("email", ""),
                password=form.cleaned_data["password1"],
            )
        except StudyError as exc:
            return _invitation_error(request, _(str(exc)), 409)
        login(request, assignment.reader, backend="studies.auth.RateLimitedModelBackend")
        return _after_join(assignment)
    status = 400 if request.method == "POST" else 200
    return render(request, "studies/join.html", {"form": form, "signed_in": False}, status=status)


def _after_join(assignment):
    start = reverse("studies:start", args=[assignment.key])
    return redirect(f"{reverse('studies:profile')}?next={start}")


@login_required
@require_http_methods(["GET", "POST"])
@reader_page
def profile(request):
    if roles.is_staff_member(request.user):
        raise PermissionDenied
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("studies:home")
    instance = ReaderProfile.objects.filter(user=request.user).first() or ReaderProfile(user=request.user)
    form = ReaderProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        do_update_reader_profile(
            user=request.user,
            specialty=form.cleaned_data.get("specialty") or "",
            years_of_experience=form.cleaned_data.get("years_of_experience"),
        )
        return redirect(next_url)
    status = 400 if request.method == "POST" else 200
    return render(request, "studies/profile.html", {"form": form, "next": next_url}, status=status)
