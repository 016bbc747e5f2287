"""Files written whole or not at all: a temporary file beside the target, then a rename."""

import os
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path, mode="w", **open_args):
    """A file opened beside ``path`` that replaces it when the block ends well; removed if it does not.

    Readers of ``path`` see the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp")
    try:
        with open(tmp, mode, **open_args) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(path, data):
    """``data`` (bytes, or str written as UTF-8) as the whole of ``path``."""
    if isinstance(data, bytes):
        with replacing(path, "wb") as handle:
            handle.write(data)
    else:
        with replacing(path, "w", encoding="utf-8") as handle:
            handle.write(data)
