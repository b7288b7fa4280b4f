"""`python -m pressekit`: the same command line as the `pressekit` script."""

from .cli import run

if __name__ == "__main__":
    run()
