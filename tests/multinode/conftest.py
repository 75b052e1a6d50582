"""Several processes of the platform on one machine, each with its own local folder, sharing only PostgreSQL,
Redis and the object store; reader-study fixtures to build their studies."""

from tests.studies.conftest import (  # noqa: F401  (fixtures)
    email_backend,
    join,
    make_reader,
    make_survey,
    own_cache_namespace,
    pools,
)
