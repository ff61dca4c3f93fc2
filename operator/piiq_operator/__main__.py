"""``python -m piiq_operator``: the same command as ``piiq operator``."""

from .cli import operator_command

if __name__ == "__main__":
    operator_command(prog_name="piiq-operator")
