"""`vaidya serve` with every aiortc encode/decode counted; the counts go to $CODEC_COUNTS at exit."""

import atexit
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from tests.helpers import codec_counter  # noqa: E402

codec_counter.install()


@atexit.register
def _write() -> None:
    with open(os.environ["CODEC_COUNTS"], "w") as f:
        json.dump(dict(codec_counter.COUNTS), f)


from signaling.cli import main  # noqa: E402

sys.exit(main())
