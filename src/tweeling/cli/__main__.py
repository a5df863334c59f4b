"""``python -m tweeling.cli``: the ``tweeling`` command."""

import sys

from tweeling.cli import main

sys.exit(main())
