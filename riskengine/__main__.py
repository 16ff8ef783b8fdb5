"""``python -m riskengine``: the same command line as ``riskengine``."""

import sys

from riskengine.cli import main

sys.exit(main())
