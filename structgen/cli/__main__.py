from structgen.cli.main import main

raise SystemExit(main())
