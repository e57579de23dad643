"""The directory layout the directory-based drivers (posix, btrfs) keep under their root.

    <root>/shares/<share_id>
    <root>/snapshots/<snapshot_id>
    <root>/groups/<group_id>
    <root>/cgsnapshots/<cgsnapshot_id>

What each entry *is* (a plain directory, a subvolume, a copy) is the driver's business; where it
lives is decided here, once. Data directories written by earlier releases depend on these names:
renaming a category orphans every object stored under the old one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lockstep.adapters.drivers._support import TMP_PREFIX, check_id, check_kind
from lockstep.service.storage import DriverError, ExportLocation, ShareResult

#: Object kind (as `reclaim` names it) -> the directory under the root that holds that kind.
CATEGORIES: Mapping[str, str] = {
    "share": "shares",
    "snapshot": "snapshots",
    "group": "groups",
    "cgsnapshot": "cgsnapshots",
}


@dataclass(frozen=True)
class DirectoryLayout:
    root: Path

    @classmethod
    def from_options(cls, options: Mapping[str, str], *, driver: str, path_means: str) -> DirectoryLayout:
        """The layout under the backend's required `path` option (made absolute)."""
        path = (options.get("path") or "").strip()
        if not path:
            raise DriverError(f"the {driver} backend needs the option 'path' ({path_means})")
        return cls(Path(path).absolute())

    @property
    def shares_dir(self) -> Path:
        return self.root / CATEGORIES["share"]

    @property
    def snapshots_dir(self) -> Path:
        return self.root / CATEGORIES["snapshot"]

    @property
    def groups_dir(self) -> Path:
        return self.root / CATEGORIES["group"]

    @property
    def cgsnapshots_dir(self) -> Path:
        return self.root / CATEGORIES["cgsnapshot"]

    def directory(self, kind: str) -> Path:
        """The directory holding objects of `kind` ("share", "snapshot", "group", "cgsnapshot")."""
        check_kind(kind)
        return self.root / CATEGORIES[kind]

    def path(self, kind: str, object_id: str) -> Path:
        """Where the object `object_id` of `kind` lives; the id is checked to stay inside the layout."""
        return self.directory(kind) / check_id(object_id, kind)

    def share(self, share_id: str) -> Path:
        return self.path("share", share_id)

    def snapshot(self, snapshot_id: str) -> Path:
        return self.path("snapshot", snapshot_id)

    def group(self, group_id: str) -> Path:
        return self.path("group", group_id)

    def cgsnapshot(self, cgsnapshot_id: str) -> Path:
        return self.path("cgsnapshot", cgsnapshot_id)

    def ensure(self, driver: str) -> None:
        """Create the four category directories (and the root) if they are missing."""
        try:
            for category in CATEGORIES.values():
                (self.root / category).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DriverError(
                f"cannot create the {driver} backend's directories under {self.root}: {exc}; "
                "check that the path is writable by the service user"
            ) from exc


def temp_path(final: Path) -> Path:
    """The work-in-progress name next to `final`: built there, renamed into place when complete."""
    return final.with_name(f"{TMP_PREFIX}{final.name}")


def export_at(path: Path) -> ShareResult:
    """A directory share is exported as its absolute path."""
    return ShareResult(export_locations=[ExportLocation(path=str(path))])
