"""The entry point (placeholder): announces nothing yet.

The adapter itself (branch k8s-adapter) replaces this module with the ``AdapterSpec``;
it exists so the ``kubernetes`` entry point imports cleanly meanwhile.
"""
