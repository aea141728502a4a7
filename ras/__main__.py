"""``python -m ras``."""

from ras.cli import main

if __name__ == "__main__":
    main()
