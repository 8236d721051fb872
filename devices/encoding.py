"""Text decoding for terminal bodies.

Chinese-market ZKTeco firmware writes user names in GB2312 (the spec digest §16.1), other firmware in
UTF-8, and the body carries no charset. A body that is valid UTF-8 is almost never GB text by accident
(GBK double bytes rarely form valid UTF-8 sequences), so UTF-8 is tried first and GB18030 (a superset of
GB2312 and GBK) second. Decoding never raises: a terminal's batch must not be lost because one name is
garbled, so the last resort replaces bad bytes and tells the caller which path was taken.
"""
from __future__ import annotations

UTF8 = "utf-8"
GB18030 = "gb18030"
REPLACED = "utf-8-replace"  # some bytes were undecodable and replaced by U+FFFD
BLANK = " \t\r\x00"  # a line of only these is blank: skipped, neither a record nor rejected

_BOM = b"\xef\xbb\xbf"


def decode_text_with_encoding(body: bytes) -> tuple[str, str]:
    """Decode a terminal body and say how: (text, one of UTF8, GB18030, REPLACED)."""
    if body.startswith(_BOM):
        body = body[3:]
    try:
        return body.decode(UTF8), UTF8
    except UnicodeDecodeError:
        pass
    try:
        return body.decode(GB18030), GB18030
    except UnicodeDecodeError:
        return body.decode(UTF8, errors="replace"), REPLACED


def decode_text(body: bytes) -> str:
    """Decode a terminal body: UTF-8 if valid, else GB18030, else UTF-8 with replacement. Never raises."""
    return decode_text_with_encoding(body)[0]
