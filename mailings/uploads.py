"""Uploaded client files waiting for their confirmation: files in CLIENT_IMPORT_UPLOAD_DIR.

django-import-export keeps an upload between its preview and its confirmation in a
"temporary storage" (IMPORT_EXPORT_TMP_STORAGE_CLASS). Not the cache: that is a Redis
database on the broker's server, where a 64 MB upload would take the memory the queues
need. A folder on the web machine costs disk only, and every web process of that machine
shares it. Each upload is a file only its owner may read (the files hold phone numbers),
named by a random id; one older than CLIENT_IMPORT_KEEP_SECONDS is never read again, and
is deleted by the next upload or by the read that finds it stale.
"""

import os
import re
import stat
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from import_export.tmp_storages import BaseStorage

_NAME = re.compile(r"[0-9a-f]{32}")  # what save() gives: anything else names no upload of ours


class UploadFolder(BaseStorage):
    """One upload, saved whole, read back as bytes, removed once used or refused."""

    def save(self, data: bytes) -> None:
        folder = _folder()
        _remove_stale(folder)
        self.name = uuid.uuid4().hex
        path = folder / self.name
        partial = folder / f".{self.name}.partial"  # a reader never sees half a file
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
            file.write(data)
        partial.replace(path)

    def read(self) -> bytes | None:
        """The upload's bytes, or None when it is gone or past its keep time."""
        path = self._path()
        try:
            if path is None or _is_stale(path.stat().st_mtime):
                self.remove()
                return None
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def remove(self) -> None:
        path = self._path()
        if path is not None:
            path.unlink(missing_ok=True)

    def _path(self) -> Path | None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            return None
        return Path(settings.CLIENT_IMPORT_UPLOAD_DIR) / self.name


def _folder() -> Path:
    """The folder, made if missing; refused unless it is the web user's own and no one else may
    write to it (in a shared /tmp another user could make it first, and swap an upload between
    its preview and its confirmation)."""
    folder = Path(settings.CLIENT_IMPORT_UPLOAD_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise ImproperlyConfigured(
            f"CLIENT_IMPORT_UPLOAD_DIR={folder} must be a folder of this user's (uid {os.getuid()}) "
            "that no one else may write to (mode 0700 or 0755)."
        )
    return folder


def _is_stale(saved_at: float) -> bool:
    return time.time() - saved_at > settings.CLIENT_IMPORT_KEEP_SECONDS


def _remove_stale(folder: Path) -> None:
    """Uploads never confirmed nor refused (a closed tab), and pieces of a write that died."""
    for entry in os.scandir(folder):
        try:
            if entry.is_file() and _is_stale(entry.stat().st_mtime):
                os.unlink(entry.path)
        except FileNotFoundError:  # another web process removed it first
            pass
