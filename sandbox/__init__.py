"""Local stand-in for the vendor APIs GTM Intelligence syncs from, over a generated fictional company."""

from sandbox.company import Company
from sandbox.server import SandboxServer, make_server, serve, start_in_thread

__all__ = ["Company", "SandboxServer", "make_server", "serve", "start_in_thread"]
