"""Upload validation: content sniffing, size/count limits, image and archive
bomb protection.

Example:
    >>> from agora.config import UploadSettings
    >>> UploadGuard(UploadSettings()).check_file("a.json", b'{"a": 1}').format
    'json'
"""

from agora.uploads.archives import ArchiveReport, inspect_archive, unsafe_member_name
from agora.uploads.guard import UploadGuard, spool
from agora.uploads.sniff import FORMATS, SNIFF_BYTES, Sniffed, sniff

__all__ = [
    "FORMATS",
    "SNIFF_BYTES",
    "ArchiveReport",
    "Sniffed",
    "UploadGuard",
    "inspect_archive",
    "sniff",
    "spool",
    "unsafe_member_name",
]
