"""`python -m trainer` is the `trainer` command."""
from .cli import main

main()
