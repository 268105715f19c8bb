"""``python -m mirkit`` runs the command line."""

from mirkit.cli.app import main

main()
