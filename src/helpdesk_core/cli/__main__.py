"""``python -m helpdesk_core.cli``: the same as the ``helpdesk`` script."""

import sys

from helpdesk_core.cli import main

sys.exit(main())
