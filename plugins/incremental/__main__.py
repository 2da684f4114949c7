"""`python -m plugins.incremental …`: Pelican's command line, ending without a teardown.

At 20,000 posts a build holds millions of objects, and an interpreter that exits normally frees
them one by one: two seconds and more after the last page is written. Once Pelican's `main`
has returned (every file written atomically, the manifest saved), this runs the exit handlers,
flushes the logs and ends the process at once; the system takes its memory back whole. Same
arguments and exit status as `pelican`; `make html`, `make publish`, `aggregator publish` and
the build benchmark use it.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import traceback


def run(argv: list[str] | None = None) -> int:
    """Pelican's main with `argv`; its exit status."""
    from pelican import main

    try:
        main(argv)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or 0)
        print(exc.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BaseException:  # noqa: BLE001 - reported as Python would, then a failure status
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    status = run(sys.argv[1:])
    atexit._run_exitfuncs()  # what a normal exit would run first
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
