"""What a deleted account leaves behind must not break the host's writes and
reads (on both engines: a SQLite file and a PostgreSQL database)."""
from __future__ import annotations

from server.runtime import Runtime
from server.storage import Storage, delete_account

from .conftest import db_query


def test_a_position_saved_after_deletion_does_not_fail_the_batch(world_db):
    """An account deleted while its player was online: the tick's next
    save holds its position too, and the others' must still be written."""
    storage = Storage(world_db, Runtime("threading"))
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
    assert db_query(world_db, "SELECT user_id, x, y FROM positions") == \
        [(stays, 50.0, 60.0)]


def test_unread_counts_leave_out_a_deleted_sender(world_db):
    storage = Storage(world_db, Runtime("threading"))
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


def test_a_deleted_accounts_id_is_never_given_again(world_db):
    """The newest account deleted: the next one registered gets a new id, not
    its (a running host keeps per-account state under ids)."""
    storage = Storage(world_db, Runtime("threading"))
    try:
        first = storage.create_user("first", "hash")
        newest = storage.create_user("newest", "hash")
        storage.call(lambda db: delete_account(db, newest))
        again = storage.create_user("again", "hash")
        assert again > newest > first
        storage.call(lambda db: delete_account(db, first))  # an older one: nothing changes
        later = storage.create_user("later", "hash")
        assert later > again
    finally:
        storage.close()
    # Reopened, the file still remembers.
    storage = Storage(world_db, Runtime("threading"))
    try:
        storage.call(lambda db: delete_account(db, later))
        assert storage.create_user("last", "hash") > later
    finally:
        storage.close()
