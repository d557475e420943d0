"""The bridge's shared token: how long it must be, and how a token file is read.

A token is printable ASCII (it travels as gRPC metadata) and has at least
:data:`MIN_TOKEN_CHARS` characters once surrounding whitespace is stripped; any other is refused
wherever a token is given (``serve``, ``ingest --bridge``, ``cleanrl-worker run --bridge``). A token file holds the token on its first line and must be
readable by its owner only, like an ssh key: a file group or others may read or write is
refused, and the message gives the ``chmod`` that fixes it. Messages never show the token.

>>> check_token("  0123456789abcdef  ", "FASTLANE_BRIDGE_TOKEN")
'0123456789abcdef'
>>> check_token("s3cret", "FASTLANE_BRIDGE_TOKEN")
Traceback (most recent call last):
...
gym_gui_bridge.errors.BridgeError: Expected a token of at least 16 characters in \
FASTLANE_BRIDGE_TOKEN, got 6
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gym_gui_bridge.errors import BridgeError

__all__ = ["MIN_TOKEN_CHARS", "check_token", "read_token_file"]

#: Shortest token accepted (characters). ``head -c 32 /dev/urandom | base64`` gives 44.
MIN_TOKEN_CHARS = 16
_OTHERS = stat.S_IRWXG | stat.S_IRWXO  # permission bits a token file must not have


def check_token(token: str, where: str) -> str:
    """``token`` without surrounding whitespace; BridgeError naming ``where`` if too short."""
    token = token.strip()
    if not (token.isascii() and token.isprintable()):
        raise BridgeError(
            f"Expected a token of printable ASCII characters in {where} (gRPC metadata), "
            "got other characters"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise BridgeError(
            f"Expected a token of at least {MIN_TOKEN_CHARS} characters in {where}, "
            f"got {len(token)}"
        )
    return token


def read_token_file(path: str | Path) -> str:
    """The token on the first line of ``path``, checked.

    Raises:
        BridgeError: group or others may access the file, or its first line holds no token
            of at least :data:`MIN_TOKEN_CHARS` characters.
        OSError: the file cannot be read.
    """
    with open(path, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if mode & _OTHERS:
            raise BridgeError(
                f"Expected token file {path} to be readable by its owner only, got mode "
                f"{stat.S_IMODE(mode):04o}: run chmod 600 {path}"
            )
        first = handle.readline(4096)
    try:
        line = first.decode("utf-8")
    except UnicodeDecodeError:
        raise BridgeError(f"Expected a UTF-8 token on the first line of {path}") from None
    return check_token(line, f"the first line of {path}")
