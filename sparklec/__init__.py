"""sparklec: compile data pipelines, described once, for several orchestrators."""

__version__ = "0.1.0"
