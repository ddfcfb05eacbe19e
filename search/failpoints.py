"""Named pause points in ingest, so crash tests can kill it at an exact moment.

With ``SEARCH_PAUSE_AT=<stage>`` set, ingest writes the stage name to the file named by
``SEARCH_PAUSE_FILE`` on reaching it and then sleeps, waiting for the test's SIGKILL.
Unset (always, outside tests) this is a dictionary lookup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

STAGES = ("load", "embed", "segment", "write", "switch")


def pause_point(stage: str) -> None:
    if os.environ.get("SEARCH_PAUSE_AT") != stage:
        return
    Path(os.environ["SEARCH_PAUSE_FILE"]).write_text(stage)
    time.sleep(600)
