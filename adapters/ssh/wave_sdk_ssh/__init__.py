"""wave-sdk's SSH adapter: releases on servers over SSH, run by pm2 or systemd.

Importing this package imports nothing heavy: :mod:`wave_sdk_ssh.plugin` announces the
adapter by name, and asyncssh is imported only when a target of ``adapter = "ssh"`` first
connects (:mod:`wave_sdk_ssh.transport`). See docs/adapters/ssh.md.
"""

__version__ = "0.1.0"
