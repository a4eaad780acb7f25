from sparklec.compiler.cli import main

raise SystemExit(main())
