"""``python -m mixscribe_cli`` is the ``mixscribe`` command."""

from mixscribe_cli.commands import main

raise SystemExit(main())
