"""``python -m ras``."""

from ras.cli import run

if __name__ == "__main__":
    run()
