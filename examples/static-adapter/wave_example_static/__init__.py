"""Example adapter: publish a static site into a document root, with instant rollback."""
