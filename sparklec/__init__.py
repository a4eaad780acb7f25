"""sparklec: compile data pipelines, described once, for several orchestrators."""

__version__ = "0.1.0"

ENVS: tuple[str, ...] = ("dev", "qa", "prod")
"""The environments a pipeline is compiled for."""
