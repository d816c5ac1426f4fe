"""``python -m recon`` runs the command line."""

import sys

from recon.cli import main

sys.exit(main())
