"""The Qt-free sync engine (DESIGN section 4).

- ``model``: the shared vocabulary (kinds, directions, Fields, Link, content_hash);
- ``merge``: the three-way merge per field and the conflict policies;
- ``planner``: the pure ``plan()`` that turns the three views into operations;
- ``state``: the SQLite state DB (links and merge bases, cursors, create journal, conflicts, runs);
- ``run``: one run's statuses, counts, options and context; ``cursors``: where each kind stopped reading;
- ``records``: contacts, appointments and tasks (read, apply); ``email``: tracking and sending;
- ``claim``: the synchronizing-computer claim renewed before each batch of writes (a lost claim stops the run);
- ``engine``: runs the kinds (claim, lock, recovery).
"""

from wizard.settings.enums import Kind
from wizard.sync.model import KINDS, Direction, Fields, Link, content_hash

__all__ = ["KINDS", "Direction", "Fields", "Kind", "Link", "content_hash"]
