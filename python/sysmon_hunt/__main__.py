"""``python -m sysmon_hunt``: the same as the ``sysmon-hunt`` command."""

import sys

from .cli import main

sys.exit(main())
