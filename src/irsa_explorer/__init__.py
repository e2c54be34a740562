"""irsa-explorer: which AWS identity does each pod of an EKS cluster really get, and why."""

__version__ = "0.1.0"
