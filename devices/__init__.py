"""Terminal adapters: each wire format in, normalized `Punch` records out.

Nothing here does I/O or imports other punchaudit packages; adapters take bytes and return records.
"""
from devices.punch import Method, Punch, PunchSource, RejectedLine

__all__ = ["Method", "Punch", "PunchSource", "RejectedLine"]
