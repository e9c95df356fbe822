import sys

from smartbms.cli import main

sys.exit(main())
