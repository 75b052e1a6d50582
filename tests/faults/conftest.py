"""Fault tests build their studies with the reader-study fixtures."""

from tests.studies.conftest import (  # noqa: F401  (fixtures)
    email_backend,
    join,
    make_reader,
    make_survey,
    own_cache_namespace,
    pools,
)
