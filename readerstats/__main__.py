"""``python -m readerstats``: see :mod:`readerstats.cli`."""

import sys

from readerstats.cli import main

sys.exit(main())
