"""``python -m workshop``: the ``workshop`` command (``workshop.cli``)."""

import sys

from workshop.cli import main

sys.exit(main())
