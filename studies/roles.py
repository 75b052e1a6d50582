"""The three groups of people (created by a data migration) and the checks views make against them."""

ADMIN = "admin"
RESEARCHER = "researcher"
READER = "reader"
GROUPS = (ADMIN, RESEARCHER, READER)


def in_group(user, name: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.groups.filter(name=name).exists()


def is_study_admin(user) -> bool:
    """Admins run surveys: create, open, close, invite, remind."""
    return user.is_authenticated and user.is_active and (user.is_superuser or in_group(user, ADMIN))


def is_researcher(user) -> bool:
    """Researchers read progress and results; admins may too."""
    return is_study_admin(user) or in_group(user, RESEARCHER)


def is_staff_member(user) -> bool:
    """Anyone who may see the truth of items; such accounts never read a survey."""
    return user.is_authenticated and (user.is_staff or user.is_superuser or is_researcher(user))
