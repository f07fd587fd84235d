"""Allow ``python -m airgapctl``."""

from airgapctl.cli import main

main()
