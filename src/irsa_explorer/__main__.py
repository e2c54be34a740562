from irsa_explorer.cli import main

raise SystemExit(main())
