"""``python -m smithers.server``: run the HTTP server (same flags as ``smithers server``)."""

import sys

from smithers.server.process.command import main

sys.exit(main())
