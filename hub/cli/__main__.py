"""`python -m hub.cli …` is `meldpunt …`."""
import sys

from hub.cli import main

sys.exit(main())
