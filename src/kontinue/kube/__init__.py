"""Kubernetes toolkit shared by the dev server and the clients: selectors and friends."""
