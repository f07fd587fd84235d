"""``airgapctl lab``: local network-less appliance instances for trying things and the demo."""

from __future__ import annotations

import typer

from airgapctl import lab as lab_lib
from airgapctl.lab.instances import DEFAULT_NAME, Instance
from airgapctl.output import print_json, print_table

app = typer.Typer(
    help="Manage local lab appliances: network-less Docker instances booting systemd, for the demo and tests.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NAME_ARG = typer.Argument(DEFAULT_NAME, help="Instance name (container airgap-lab-NAME, inventory host NAME).")
JSON_OPT = typer.Option(False, "--json", help="Print one JSON document instead of text.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="lab")


def _row(instance: Instance) -> dict[str, str]:
    return {
        "name": instance.name,
        "container": instance.container,
        "state": instance.state,
        "systemd": instance.systemd,
        "network": instance.network_mode,
        "interfaces": ",".join(instance.interfaces) or "-",
    }


@app.command()
def prepare(as_json: bool = JSON_OPT) -> None:
    """Start the Docker daemon and build the lab image if they are missing (tests and Molecule use this)."""
    daemon = lab_lib.ensure_daemon()
    image = lab_lib.ensure_image()
    if as_json:
        print_json({"daemon": daemon, "image": image})
        return
    print(f"docker daemon: {'started' if daemon.started else 'running'} (version {daemon.version})")
    print(f"image: {image.tag} ({f'built in {image.seconds:.0f} s' if image.built else 'reused'})")


@app.command()
def up(name: str = NAME_ARG, as_json: bool = JSON_OPT) -> None:
    """Start a lab appliance (building the image and starting Docker first if needed); safe to repeat."""
    result = lab_lib.up(name)
    if as_json:
        print_json(result)
        return
    inst = result.instance
    print(f"docker daemon: {'started' if result.daemon_started else 'running'}")
    print(f"image: {result.image} ({'built' if result.image_built else 'reused'})")
    print(f"instance {inst.name}: {'started' if result.changed else 'already running'} as {inst.container}")
    print(f"  systemd: {inst.systemd}; network: {inst.network_mode}; interfaces: {','.join(inst.interfaces)}")


@app.command()
def down(name: str = NAME_ARG, as_json: bool = JSON_OPT) -> None:
    """Remove a lab appliance and everything in it."""
    removed = lab_lib.down(name)
    if as_json:
        print_json({"name": name, "removed": removed})
        return
    print(f"instance {name}: {'removed' if removed else 'not present'}")


@app.command()
def status(as_json: bool = JSON_OPT) -> None:
    """List the lab appliances on this host with their systemd state and network."""
    instances = lab_lib.instance_status()
    if as_json:
        print_json(instances)
        return
    if not instances:
        print("no lab instances (airgapctl lab up starts one)")
        return
    print_table([_row(i) for i in instances], ["name", "container", "state", "systemd", "network", "interfaces"])


@app.command()
def shell(name: str = NAME_ARG) -> None:
    """Open an interactive shell inside a running lab appliance."""
    lab_lib.exec_shell(name)


@app.command("stop-daemon")
def stop_daemon(as_json: bool = JSON_OPT) -> None:
    """Stop the Docker daemon if airgapctl started it; a daemon started otherwise is left alone."""
    result = lab_lib.stop_daemon()
    if as_json:
        print_json(result)
        return
    if result.pid:
        print(f"docker daemon: stopped pid {result.pid}")
    else:
        print("docker daemon: not started by airgapctl; left alone")
