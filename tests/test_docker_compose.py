"""The production stack in docker/: compose services, their commands, environment, volumes and health checks,
and the Dockerfiles and entrypoint they build from. No Docker engine is needed: the files are parsed."""

import ast
import fnmatch
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKER_DIR = REPO_ROOT / "docker"
COMPOSE_FILE = DOCKER_DIR / "docker-compose.yml"
ENV_EXAMPLE = DOCKER_DIR / ".env.example"
ENTRYPOINT = DOCKER_DIR / "entrypoint.sh"
SETTINGS_FILE = REPO_ROOT / "config" / "settings.py"

DJANGO_SERVICES = ("web", "worker", "interactive-worker", "gpu-worker")
WORKERS = ("worker", "interactive-worker", "gpu-worker")

# Variables config/settings.py reads whose local default is also right in production; every other variable
# it reads must be set for each Django service. A variable added to the settings fails the test until it is
# either passed in docker/docker-compose.yml or listed here on purpose.
PRODUCTION_SAFE_DEFAULTS = {
    "ARCHIVE_MAX_COMPRESSION_RATIO",
    "ARCHIVE_MAX_FILES",
    "ARCHIVE_MAX_JSON_BYTES",
    "ARCHIVE_MAX_JSON_CONTAINERS",
    "ARCHIVE_MAX_JSON_DEPTH",
    "ARCHIVE_MAX_JSON_TOTAL_BYTES",
    "ARCHIVE_MAX_MEMBER_BYTES",
    "ARCHIVE_MAX_TOTAL_BYTES",
    "CELERY_BROKER_CONNECT_TIMEOUT",
    "CELERY_BROKER_SOCKET_TIMEOUT",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CELERY_VISIBILITY_TIMEOUT",
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD_KB",
    "DATA_UPLOAD_MAX_NUMBER_FILES",
    "DJANGO_SSL_REDIRECT",
    "GENERATION_BATCH_SIZE",
    "GENERATION_CHECKPOINT_MAX_BYTES",
    "GENERATION_IO_THREADS",
    "GENERATION_PRECISION",
    "GENERATION_TRAINING_DIR",
    "IMPORT_MAX_MATRIX",
    "IMPORT_MAX_NIFTI_VOXELS",
    "IMPORT_MAX_SLICES_PER_SERIES",
    "IMPORT_SPACING_TOLERANCE",
    "IMPORT_UNPACK_MAX_BYTES",
    "IMPORT_UNPACK_RATIO",
    "JOBS_RESEND_AFTER_S",
    "JOBS_RESEND_EVERY_S",
    "JOBS_STALE_AFTER_S",
    "METRICS_INCEPTION_BATCH",
    "METRICS_MAX_PER_LAYER",
    "METRICS_WORKERS",
    "PACS_TIMEOUT_S",
    "SECURE_HSTS_SECONDS",
    "STUDIES_INVITATION_DAYS",
    "STUDIES_INVITATION_FAILURES_PER_ADDRESS",
    "STUDIES_LOGIN_DELAY_FIRST_S",
    "STUDIES_LOGIN_DELAY_MAX_S",
    "STUDIES_LOGIN_FAILURES_PER_ADDRESS",
    "STUDIES_LOGIN_FAILURES_PER_USERNAME",
    "UPLOAD_MAX_BYTES",
}

INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>\w+)")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def interpolate(value: str, env: dict[str, str]) -> str:
    """Substitute ${VAR}, ${VAR:-default}, ${VAR:?error} and $$ the way docker compose does."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg")
        value = env.get(name)
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise KeyError(f"{name} must be set: {arg}")
        return value or ""

    return INTERPOLATION.sub(substitute, value)


def interpolated_names(text: str) -> set[str]:
    return {
        match.group("name") or match.group("bare")
        for match in INTERPOLATION.finditer(text)
        if match.group(0) != "$$"
    }


def argv(command) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def option(args: list[str], *names: str) -> str | None:
    """The value of a command-line option given as `--name value`, `--name=value` or `-Q value`."""
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def celery_queues(service: dict) -> list[str]:
    args = argv(service["command"])
    assert args[:4] == ["celery", "-A", "config", "worker"], args
    queues = option(args, "-Q", "--queues")
    assert queues, f"{args} names no queue"
    return queues.split(",")


def volume_mounts(service: dict) -> dict[str, str]:
    """Mount target -> source for the service's volumes, short or long syntax; read-only mounts are marked."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            read_only = mode == ["ro"]
        else:
            source, target, read_only = volume.get("source"), volume["target"], volume.get("read_only", False)
        mounts[target] = f"{source} (read-only)" if read_only else source
    return mounts


def healthcheck_command(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test[1:])


def dockerfile_path(service: dict) -> Path:
    build = service["build"]
    context = (DOCKER_DIR / build["context"]).resolve()
    return context / build.get("dockerfile", "Dockerfile")


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in path.read_text().splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def dockerfile_args(instructions: list[tuple[str, str]]) -> dict[str, str]:
    args = {}
    for keyword, arguments in instructions:
        if keyword == "ARG" and "=" in arguments:
            name, default = arguments.split("=", 1)
            args[name] = default
    return args


def resolve_args(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text)


def exec_form(arguments: str) -> list[str]:
    return yaml.safe_load(arguments) if arguments.startswith("[") else shlex.split(arguments)


def copy_instructions(instructions: list[tuple[str, str]]) -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY/ADD from the build context."""
    copies = []
    for keyword, arguments in instructions:
        if keyword not in ("COPY", "ADD"):
            continue
        parts = exec_form(arguments)
        if any(part.startswith("--from") for part in parts):
            continue
        paths = [part for part in parts if not part.startswith("--")]
        copies.append((paths[:-1], paths[-1]))
    return copies


def dockerignore_patterns() -> list[str]:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip().strip("/") for line in lines if line.strip() and not line.strip().startswith("#")]


def ignored_by_dockerignore(relative: str, patterns: list[str]) -> bool:
    parts = Path(relative).parts
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        bare = pattern.removeprefix("**/")
        if any(
            fnmatch.fnmatchcase(candidate, pattern)
            or (pattern != bare and fnmatch.fnmatchcase(Path(candidate).name, bare))
            for candidate in candidates
        ):
            ignored = not negate
    return ignored


def is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def settings_environment_variables() -> set[str]:
    """Names config/settings.py reads from the environment: os.environ[...], os.environ.get(...),
    os.getenv(...) and calls of its own helpers (env_bool, env_list, ...) that read os.environ."""
    tree = ast.parse(SETTINGS_FILE.read_text())
    helpers = {
        function.name
        for function in tree.body
        if isinstance(function, ast.FunctionDef) and any(is_os_environ(node) for node in ast.walk(function))
    }
    names = set()
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and is_os_environ(node.value):
            key = node.slice
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            reads = (
                (
                    isinstance(func, ast.Attribute)
                    and func.attr in ("get", "setdefault")
                    and is_os_environ(func.value)
                )
                or (isinstance(func, ast.Attribute) and func.attr == "getenv")
                or (isinstance(func, ast.Name) and func.id in helpers)
            )
            key = node.args[0] if reads else None
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
    return names


# Services


def test_compose_defines_postgres_redis_web_and_both_workers(services):
    assert set(services) == {"postgres", "redis", "objectstore", *DJANGO_SERVICES}


def test_django_services_are_exactly_the_ones_built_from_the_project_dockerfiles(services):
    built = {name for name, service in services.items() if "build" in service}
    assert built == set(DJANGO_SERVICES)
    for name in built:
        assert dockerfile_path(services[name]).is_file(), name


def test_web_serves_the_wsgi_application_with_gunicorn_on_port_8000(services):
    args = argv(services["web"]["command"])
    assert args[0] == "gunicorn"
    assert "config.wsgi:application" in args
    assert option(args, "--bind", "-b") == "0.0.0.0:8000"
    published = [str(port) for port in services["web"]["ports"]]
    assert any(port.endswith(":8000") for port in published), published


def test_worker_consumes_only_the_default_queue(services):
    assert celery_queues(services["worker"]) == ["default"]


def test_the_interactive_worker_consumes_only_the_interactive_queue(services):
    # Blinding audits, reports and imports never wait behind machine observers or metrics.
    assert celery_queues(services["interactive-worker"]) == ["interactive"]


def test_gpu_worker_consumes_the_gpu_queue_in_a_single_solo_process(services):
    args = argv(services["gpu-worker"]["command"])
    assert celery_queues(services["gpu-worker"]) == ["gpu"]
    assert option(args, "--pool", "-P") == "solo"
    assert option(args, "--concurrency", "-c") == "1"


def test_gpu_worker_reserves_an_nvidia_gpu(services):
    devices = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(
        device.get("driver") == "nvidia"
        and "gpu" in device.get("capabilities", [])
        and device.get("count") in (1, "all")
        for device in devices
    ), devices


def test_every_queue_a_worker_consumes_is_declared_in_celery_settings(services):
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    consumed = {queue for name in WORKERS for queue in celery_queues(services[name])}
    assert consumed <= declared, consumed - declared


def test_every_declared_celery_queue_has_a_worker_in_compose(services):
    consumed = {queue for name in WORKERS for queue in celery_queues(services[name])}
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES} | {settings.CELERY_TASK_DEFAULT_QUEUE}
    assert declared <= consumed, declared - consumed


# Environment


def test_settings_environment_variables_are_found_by_reading_the_settings_module():
    found = settings_environment_variables()
    assert {
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "MEDIA_ROOT",
        "ALLOWED_HOSTS",
        "DJANGO_SECURE",
    } <= found
    # The exemption list must only name variables the settings still read.
    assert found >= PRODUCTION_SAFE_DEFAULTS, PRODUCTION_SAFE_DEFAULTS - found


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_django_service_gets_every_environment_variable_production_needs(services, name):
    needed = settings_environment_variables() - PRODUCTION_SAFE_DEFAULTS
    missing = needed - set(environment(services[name]))
    assert not missing, f"{name} lacks {sorted(missing)}"


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_django_service_refuses_to_start_without_a_secret_key(services, name):
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", environment(services[name])["SECRET_KEY"])


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_database_url_points_at_the_database_the_postgres_service_creates(services, name):
    env = {"POSTGRES_PASSWORD": "a-password"}
    postgres = {key: interpolate(value, env) for key, value in environment(services["postgres"]).items()}
    url = urlsplit(interpolate(environment(services[name])["DATABASE_URL"], env))
    assert url.scheme in ("postgres", "postgresql", "pgsql")
    assert url.hostname == "postgres"
    assert (url.port or 5432) == 5432
    assert url.username == postgres.get("POSTGRES_USER", "postgres")
    assert url.password == postgres["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == postgres.get("POSTGRES_DB", url.username)


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_redis_url_points_at_the_redis_service(services, name):
    url = urlsplit(interpolate(environment(services[name])["REDIS_URL"], {}))
    assert url.scheme == "redis"
    assert url.hostname == "redis"
    assert services["redis"]["image"].split(":")[0] == "redis"
    assert (url.port or 6379) == 6379


def test_every_variable_compose_interpolates_is_documented_in_env_example():
    documented = {
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    used = interpolated_names(COMPOSE_FILE.read_text())
    assert used <= documented, used - documented


def test_only_the_web_service_runs_migrations(services):
    running = {name for name in DJANGO_SERVICES if environment(services[name]).get("RUN_MIGRATIONS") == "1"}
    assert running == {"web"}


# Volumes


def test_media_volume_is_mounted_writable_at_media_root_in_every_django_service(compose, services):
    sources = set()
    for name in DJANGO_SERVICES:
        media_root = environment(services[name])["MEDIA_ROOT"]
        source = volume_mounts(services[name]).get(media_root)
        assert source in compose["volumes"], f"{name}: {media_root} is mounted from {source!r}"
        sources.add(source)
    assert len(sources) == 1, f"the Django services see different media volumes: {sources}"


def test_postgres_keeps_its_data_in_a_named_volume(compose, services):
    source = volume_mounts(services["postgres"]).get("/var/lib/postgresql/data")
    assert source == "pgdata"
    assert "pgdata" in compose["volumes"]


# Health checks and start order


@pytest.mark.parametrize("name", ["postgres", "redis", "objectstore", *DJANGO_SERVICES])
def test_service_has_a_healthcheck(services, name):
    healthcheck = services[name].get("healthcheck", {})
    assert not healthcheck.get("disable", False)
    assert healthcheck.get("test") and healthcheck["test"] != ["NONE"]


def test_web_healthcheck_is_valid_python_fetching_the_admin_login_page(services):
    test = services["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    code = interpolate(test[3], {})
    compile(code, "web healthcheck", "exec")
    assert "urllib" in code
    assert "http://127.0.0.1:8000/admin/login/" in code or "http://localhost:8000/admin/login/" in code


@pytest.mark.parametrize("name", WORKERS)
def test_worker_healthcheck_pings_its_own_celery_node(services, name):
    command = healthcheck_command(services[name])
    assert "celery -A config inspect ping" in command
    # `$$` reaches the container as `$`; a single `$HOSTNAME` would be filled in from the host by compose.
    assert "-d celery@$$HOSTNAME" in command
    assert services[name]["healthcheck"]["test"][0] == "CMD-SHELL"


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_django_service_starts_after_postgres_and_redis(services, name):
    assert {"postgres", "redis"} <= set(services[name]["depends_on"])


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_django_service_stores_files_in_the_object_store_service_and_waits_for_it(services, name):
    env = {"BLINDREAD_S3_ACCESS_KEY": "key", "BLINDREAD_S3_SECRET_KEY": "secret"}
    variables = {
        key: interpolate(value, env)
        for key, value in environment(services[name]).items()
        if key.startswith("BLINDREAD_S3_")
    }
    url = urlsplit(variables["BLINDREAD_S3_ENDPOINT"])
    assert (url.hostname, url.port) == ("objectstore", 8333)
    assert variables["BLINDREAD_S3_BUCKET"] == "blindread"
    assert "-bucket=blindread" in services["objectstore"]["command"][0]
    assert "objectstore" in services[name]["depends_on"]
    store = {key: interpolate(value, env) for key, value in environment(services["objectstore"]).items()}
    assert (store["BLINDREAD_S3_ACCESS_KEY"], store["BLINDREAD_S3_SECRET_KEY"]) == ("key", "secret")


@pytest.mark.parametrize("name", ["postgres", "redis", *DJANGO_SERVICES])
def test_dependencies_are_waited_for_until_healthy(services, name):
    depends_on = services[name].get("depends_on", {})
    assert isinstance(depends_on, dict), f"{name}: the list form of depends_on does not wait for health"
    for dependency, condition in depends_on.items():
        assert condition.get("condition") == "service_healthy", f"{name} -> {dependency}"
        assert "healthcheck" in services[dependency], dependency


# Images


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_dockerfile_copies_only_files_that_exist_and_are_not_dockerignored(services, name):
    context = (DOCKER_DIR / services[name]["build"]["context"]).resolve()
    patterns = dockerignore_patterns()
    copies = copy_instructions(dockerfile_instructions(dockerfile_path(services[name])))
    assert copies
    for sources, _ in copies:
        for source in sources:
            assert (context / source).exists(), source
            if source != ".":
                assert not ignored_by_dockerignore(source, patterns), f"{source} is excluded by .dockerignore"


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_image_entrypoint_is_the_executable_script_from_docker(services, name):
    instructions = dockerfile_instructions(dockerfile_path(services[name]))
    entrypoint = [exec_form(arguments) for keyword, arguments in instructions if keyword == "ENTRYPOINT"][-1]
    destinations = {destination: sources for sources, destination in copy_instructions(instructions)}
    target = entrypoint[0]
    installed_as = next(
        (
            sources
            for destination, sources in destinations.items()
            if target in (destination, Path(destination).name)
        ),
        None,
    )
    assert installed_as == ["docker/entrypoint.sh"], (
        f"ENTRYPOINT {target} is not copied from docker/entrypoint.sh"
    )
    assert ENTRYPOINT.is_file()
    assert os.access(ENTRYPOINT, os.X_OK), "docker/entrypoint.sh is not executable"
    assert ENTRYPOINT.read_text().splitlines()[-1].strip() == 'exec "$@"'


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_image_runs_as_a_non_root_user(services, name):
    users = [
        arguments
        for keyword, arguments in dockerfile_instructions(dockerfile_path(services[name]))
        if keyword == "USER"
    ]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def install_steps(path: Path) -> tuple[list[str], dict[str, str]]:
    instructions = dockerfile_instructions(path)
    args = dockerfile_args(instructions)
    runs = [resolve_args(arguments, args) for keyword, arguments in instructions if keyword == "RUN"]
    return runs, args


def first_index(runs: list[str], pattern: str) -> int:
    return next((index for index, run in enumerate(runs) if re.search(pattern, run)), len(runs))


PROJECT_INSTALL = r"pip install (--no-deps )?(\.|/app)(\s|$)"


def test_cpu_image_installs_torch_2_13_from_the_cpu_index_before_the_project(services):
    runs, _ = install_steps(dockerfile_path(services["web"]))
    torch = first_index(
        runs, r"pip install torch==2\.13\.0 --index-url https://download\.pytorch\.org/whl/cpu(\s|$)"
    )
    project = first_index(runs, PROJECT_INSTALL)
    assert torch < len(runs), "no CPU torch 2.13.0 install"
    assert project < len(runs), "the project is never installed"
    assert torch < project


def test_gpu_image_installs_a_cuda_build_of_torch_2_13_before_the_project_on_a_cuda_base(services):
    path = dockerfile_path(services["gpu-worker"])
    runs, args = install_steps(path)
    torch = first_index(
        runs, r"pip install torch==2\.13\.0 --index-url https://download\.pytorch\.org/whl/cu\d+(\s|$)"
    )
    project = first_index(runs, PROJECT_INSTALL)
    assert torch < project < len(runs)
    base = resolve_args(
        next(arguments for keyword, arguments in dockerfile_instructions(path) if keyword == "FROM"), args
    )
    assert base.startswith(("nvidia/cuda:", "pytorch/pytorch:")), base


def test_web_image_collects_static_files_at_build_time(services):
    runs, _ = install_steps(dockerfile_path(services["web"]))
    assert first_index(runs, r"manage\.py collectstatic --noinput") < len(runs)


def test_image_default_commands_match_the_compose_commands(services):
    for name in ("web", "gpu-worker"):
        instructions = dockerfile_instructions(dockerfile_path(services[name]))
        default = [exec_form(arguments) for keyword, arguments in instructions if keyword == "CMD"][-1]
        assert default == argv(services[name]["command"]), name


# Entrypoint


def run_entrypoint(tmp_path: Path, database_url: str, *command: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO_ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "BLINDREAD_VAR_DIR": str(tmp_path),
        "DB_WAIT_TIMEOUT": "0",
        "RUN_MIGRATIONS": "0",
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *command], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_entrypoint_runs_the_command_once_the_database_answers(tmp_path):
    result = run_entrypoint(tmp_path, f"sqlite:///{tmp_path / 'entrypoint.sqlite3'}", "echo", "command ran")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "command ran"


def test_entrypoint_fails_without_running_the_command_when_the_database_never_answers(tmp_path):
    result = run_entrypoint(tmp_path, "postgres://nobody:secret@127.0.0.1:1/nothing", "echo", "command ran")
    assert result.returncode != 0
    assert "command ran" not in result.stdout
    assert "database not reachable" in result.stderr
