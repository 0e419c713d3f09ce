"""Stand-in processors for demos, tests and benchmarks: stateful ASGI apps with fault switches."""

from sandbox.faults import Faults
from sandbox.journal import Call
from sandbox.people import DemoMember
from sandbox.world import Sandbox

__all__ = ["Call", "DemoMember", "Faults", "Sandbox"]
