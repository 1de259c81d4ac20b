"""``python -m smithers`` runs the command line."""

import sys

from smithers.cli import main

sys.exit(main())
