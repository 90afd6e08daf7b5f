import sys

from bluewatch.cli import main

sys.exit(main())
