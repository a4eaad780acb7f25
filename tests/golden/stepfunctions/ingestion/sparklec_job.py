"""Runs one sparklec task: the entry point of the Glue and EMR Serverless jobs of its steps (needs sparklec)."""
from sparklec.job import main

raise SystemExit(main())
