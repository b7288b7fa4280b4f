"""`python -m pressekit`: the same command line as the `pressekit` script."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="pressekit")
