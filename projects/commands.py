"""What the management commands share about projects: ``--user NAME``, whose projects bound what a command that
takes a survey, a report or an export finds (without it the command acts as the site operator: someone with a shell
on the server, who sees every project, as a site superuser does); and ``--project NAME``, the project that owns what
a command creates (a survey, an imported dataset)."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from projects.selectors import project_named


class SiteOperator:
    """The person at the server's command line: sees every project, like a site superuser."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    is_staff = True
    pk = None

    def get_username(self) -> str:
        return "site operator"


SITE_OPERATOR = SiteOperator()


def add_user_argument(parser) -> None:
    parser.add_argument(
        "--user",
        default="",
        help="Act as this account: only the surveys, reports and exports of its projects are found "
        "(default: the site operator, who sees every project).",
    )


def acting_user(options):
    """The account named by ``--user`` (CommandError when there is none), or the site operator."""
    name = (options.get("user") or "").strip()
    if not name:
        return SITE_OPERATOR
    user = get_user_model().objects.filter(username=name, is_active=True).first()
    if user is None:
        raise CommandError(f"no active account named {name!r}")
    return user


def add_project_argument(parser, what: str) -> None:
    parser.add_argument(
        "--project",
        default="",
        help=f"The project that owns {what}",
    )


def named_project(options):
    """The project named by ``--project`` (CommandError when there is none), or None: the default project."""
    name = (options.get("project") or "").strip()
    if not name:
        return None
    project = project_named(name)
    if project is None:
        raise CommandError(f"no project named {name!r}")
    return project
