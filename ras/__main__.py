"""The ``ras`` command and ``python -m ras``."""

import sys


def main() -> None:
    """Load the command line and run it; a Ctrl-C while it loads ends ras as one later does.

    Loading takes a few tenths of a second; a Ctrl-C then printed Python's traceback of
    whichever import it met. Now it prints ``interrupted`` and exits 130 (SPEC §16), as
    a Ctrl-C at any later moment does.
    """
    try:
        from ras.cli import run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    run()


if __name__ == "__main__":
    main()
