"""What a deleted account leaves behind must not break the host's writes and reads."""
from __future__ import annotations

from server.runtime import Runtime
from server.storage import Storage, delete_account

from .conftest import db_rows


def test_a_position_saved_after_deletion_does_not_fail_the_batch(tmp_path):
    """An account deleted while its player was online: the tick's next
    save holds its position too, and the others' must still be written."""
    storage = Storage(tmp_path / "world.db", Runtime("threading"))
    try:
        gone = storage.create_user("gone", "hash")
        stays = storage.create_user("stays", "hash")
        storage.call(lambda db: delete_account(db, gone))
        storage.save_positions([(gone, 10.0, 20.0), (stays, 30.0, 40.0)])
        storage.flush()
        assert storage.pending_positions() == 0
        storage.save_positions([(stays, 50.0, 60.0)])
        storage.flush()
    finally:
        storage.close()
    assert db_rows(tmp_path / "world.db", "SELECT user_id, x, y FROM positions") == \
        [(stays, 50.0, 60.0)]


def test_unread_counts_leave_out_a_deleted_sender(tmp_path):
    storage = Storage(tmp_path / "world.db", Runtime("threading"))
    try:
        gone = storage.create_user("gone", "hash")
        other = storage.create_user("other", "hash")
        reader = storage.create_user("reader", "hash")
        storage.add_message(gone, reader, "from the deleted one")
        storage.add_message(other, reader, "from a friend")
        storage.call(lambda db: delete_account(db, gone))
        assert storage.unread_counts(reader) == {other: 1}
    finally:
        storage.close()
