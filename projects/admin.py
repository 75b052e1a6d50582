"""The projects' admin pages (projects and their members, changed only through projects.services), and
`ProjectScopedAdmin`, which every app's admin mixes in so that its lists and pages hold only the rows of the
viewer's projects: another project's row is not found (404)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.http import Http404

from projects.access import MANAGE_MEMBERS
from projects.models import Membership, Project, Role
from projects.selectors import is_site_superuser, projects_of_user, visible_to
from projects.services import ProjectError, add_member, change_role, remove_member


class VisibleRowsOnly404:
    """For an admin whose get_queryset already holds only the viewer's rows: another's change, delete and history
    pages answer 404 (Django's would redirect with "does not exist", or refuse with 403)."""

    def _visible_or_404(self, request, object_id):
        if object_id is not None and self.get_object(request, unquote(object_id)) is None:
            raise Http404

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._visible_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)


class ProjectScopedAdmin(VisibleRowsOnly404):
    """Mix into a ModelAdmin (before admin.ModelAdmin). ``project_path`` is the relation from the model to its
    project (``projects`` for a shared dataset or checkpoint); ``project_role`` the least role that sees a row."""

    project_path = "project"
    project_role = Role.RESEARCHER

    def get_queryset(self, request):
        return visible_to(
            super().get_queryset(request), request.user, at_least=self.project_role, through=self.project_path
        )


def scoped_form(form, user):
    """``form`` with the choices of its model fields cut to the rows of ``user``'s projects (a dataset or a
    checkpoint another project uses is not offered)."""
    for field in form.fields.values():
        queryset = getattr(field, "queryset", None)
        if queryset is None:
            continue
        names = {f.name for f in queryset.model._meta.get_fields()}
        through = "projects" if "projects" in names else "project" if "project" in names else None
        if through is not None:
            field.queryset = visible_to(queryset, user, through=through)
    return form


class OwnersOnly:
    """The projects' own pages: site superusers, and owners for their own projects."""

    def _may_manage(self, request, obj=None) -> bool:
        user = request.user
        if is_site_superuser(user):
            return True
        if obj is not None:
            return user.has_perm(MANAGE_MEMBERS, obj)
        return projects_of_user(user, at_least=Role.OWNER).exists()

    def has_module_permission(self, request):
        return self._may_manage(request)

    def has_view_permission(self, request, obj=None):
        return self._may_manage(request, obj)


class MembershipForm(forms.ModelForm):
    """A member by username: the page never lists the site's accounts (another project's people among them)."""

    user = forms.CharField(label="Username", max_length=150, help_text="An existing account's username.")

    class Meta:
        model = Membership
        fields = ["user", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["user"] = self.instance.user.get_username()

    def clean_user(self):
        name = self.cleaned_data["user"].strip()
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"no active account named {name!r}")
        return user


class MembershipInline(OwnersOnly, admin.TabularInline):
    """A project's members, added, re-roled and removed by its owners (and site superusers): the project's rule
    (projects.manage_members) decides, not the site-wide model permissions an owner's account need not hold."""

    model = Membership
    form = MembershipForm
    fields = ["user", "role", "added_at"]
    readonly_fields = ["added_at"]
    extra = 1
    autocomplete_fields: list = []

    def has_add_permission(self, request, obj=None):
        return obj is not None and self._may_manage(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is not None and self._may_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and self._may_manage(request, obj)


@admin.register(Project)
class ProjectAdmin(OwnersOnly, ProjectScopedAdmin, admin.ModelAdmin):
    project_path = "pk"
    project_role = Role.READER  # members find their projects; only owners may open them (OwnersOnly)
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return is_site_superuser(request.user)

    def has_change_permission(self, request, obj=None):
        return self._may_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_formset(self, request, form, formset, change):
        """Members change through projects.services, each change audited; the formset then lists what changed, for
        the admin's own history entry."""
        project = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for deleted in formset.deleted_forms:
            if deleted.instance.pk is not None:
                stored = Membership.objects.get(pk=deleted.instance.pk)
                if self._apply(request, remove_member, project=project, user=stored.user):
                    formset.deleted_objects.append(stored)
        for member_form in formset.forms:
            if member_form in formset.deleted_forms or not member_form.has_changed():
                continue
            data = member_form.cleaned_data
            if not data or data.get("user") is None:
                continue
            if member_form.instance.pk is not None and "user" not in member_form.changed_data:
                stored = Membership.objects.get(pk=member_form.instance.pk)  # the form changed the instance
                changed = self._apply(request, change_role, membership=stored, role=data["role"])
                if changed:
                    formset.changed_objects.append((changed, ["role"]))
            else:
                added = self._apply(
                    request, add_member, project=project, user=data["user"], role=data["role"]
                )
                if added:
                    formset.new_objects.append(added)

    def _apply(self, request, service, **arguments):
        """What the service returned, or None after showing its one-line refusal."""
        try:
            return service(actor=request.user, **arguments) or True
        except ProjectError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
