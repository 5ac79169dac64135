"""``python -m edgeclf.cli``: the same as the ``edgeclf`` command."""

import sys

from edgeclf.cli import main

sys.exit(main())
