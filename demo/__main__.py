"""`python -m demo [--port 8000] [--feed-port N] [--no-serve] [--workdir demo/build]`"""

import sys

from demo.pipeline import main

sys.exit(main())
