"""Re-sign a bundle's manifest with a field the format does not allow: a correctly signed, invalid manifest."""

import json
import sys
from pathlib import Path

from airgapctl.bundle.keys import load_private_key, sign_detached

manifest = Path("manifest.json")
document = json.loads(manifest.read_text())
document["unexpected"] = True
data = (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()
manifest.write_bytes(data)
Path("manifest.json.sig").write_bytes(sign_detached(load_private_key(sys.argv[1]), data))
