"""What the toolkit is: the parts of the project tree that travel with the media.

Standard library only: setup.py reads this file to copy the parts into the wheel.
"""

TOOLKIT_PARTS = ("roles", "playbooks", "inventory", "ansible.cfg", "constraints.txt")
