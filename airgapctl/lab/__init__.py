"""Network-less lab appliances: Docker containers booting systemd, from a locally built image.

The same image and daemon serve the demo (``airgapctl lab up``) and the Molecule scenarios.
"""

from airgapctl.lab.daemon import ensure_daemon, stop_daemon
from airgapctl.lab.image import ensure_image
from airgapctl.lab.instances import down, exec_shell, instance_status, shell_argv, up

__all__ = ["down", "ensure_daemon", "ensure_image", "exec_shell", "instance_status", "shell_argv", "stop_daemon", "up"]
