"""kontinue: Kubernetes-native durable execution for Python.

Workflows are plain Python functions; every bit of their state lives in Kubernetes custom
resources, so any worker can resume any execution after a crash.
"""

__version__ = "0.1.0"
