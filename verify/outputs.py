"""Where commands write files (--out, --plot): the parent folder is created when missing."""
from __future__ import annotations

from pathlib import Path

from verify.problems import UserError


def ensure_parent(target: Path, flag: str) -> Path:
    """Create target's folder if needed; a UserError naming the flag when that is impossible."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{flag} {str(target)!r}: cannot create the folder {str(target.parent)!r} "
                        f"({err.strerror or err})") from None
    return target
