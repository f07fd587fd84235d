"""airgapctl: build, provision and audit API gateway appliances for air-gapped sites."""

__version__ = "0.1.0"
