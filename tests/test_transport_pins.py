"""The host's transport leans on internals of python-socketio, python-engineio
and eventlet (server/transport/internals.py lists each one).  These tests fail,
saying what to check, when a pinned library version changes, when one of those
internals is gone or changed shape, or when code outside the transport starts
to use them."""
from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
from pathlib import Path

import pytest

from server.transport.internals import INTERNALS, PINNED

ROOT = Path(__file__).resolve().parent.parent

# Names of library internals no module outside server/transport may use (the
# load tool, game/bots* and bench/, has a transport module of its own).  The
# private names of INTERNALS are added below.
FORBIDDEN = ("_handle_eio_message", "_websocket_handler", "_sendlock", "_apply_mask",
             "do_poll", "uses_binary_events", "_receive_packet", "eio.sockets",
             ".handlers.get(", "sid_from_eio_sid", "eio_sid_from_sid", "check_ping_timeout",
             "get_socket(", "get_participants(", "game_websocket", "sio.manager",
             "sio.eio", "server.eio")
# Libraries only the transport imports; server/runtime.py uses eventlet's
# public API (tpool, patcher, Semaphore, spawn, sleep) for blocking work.
TRANSPORT_ONLY_IMPORTS = {"engineio": (), "eventlet": ("server/runtime.py",)}


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*==\s*([^\s#;]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(3)
    return pins


@pytest.mark.parametrize("library", PINNED)
def test_the_transport_runs_on_the_library_versions_it_was_written_for(library):
    pinned = _pins().get(library)
    assert pinned is not None, f"{library} has no '==' pin in requirements.txt"
    installed = importlib.metadata.version(library)
    assert installed == pinned, (
        f"{library} {installed} is installed, but server/transport was written against "
        f"{pinned} (requirements.txt). Check each INTERNALS entry for {library} in "
        "server/transport/internals.py against the new version, run tests/test_transport_pins.py "
        "and the host tests, then update the pin.")


def _owner(entry):
    module_name, _, class_name = entry.owner.partition(":")
    owner = importlib.import_module(module_name)
    for part in filter(None, class_name.split(".")):
        owner = getattr(owner, part)
    return owner


@pytest.mark.parametrize("entry", INTERNALS, ids=lambda e: f"{e.owner}.{e.name}")
def test_every_internal_the_transport_relies_on_is_still_there(entry):
    where = f"{entry.library}: {entry.owner}.{entry.name} (used by {entry.used_by})"
    try:
        owner = _owner(entry)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{where}: {entry.owner} is gone ({exc})")
    if entry.instance:
        # Set on each instance: look for the assignment in the class's code
        # (or a base class's).
        sources = [inspect.getsource(cls) for cls in inspect.getmro(owner)
                   if cls.__module__.split(".")[0] == owner.__module__.split(".")[0]]
        assigned = re.compile(rf"self\.{re.escape(entry.name)}\s*=")
        assert any(assigned.search(src) for src in sources), (
            f"{where}: no longer set on {owner.__name__} instances")
        return
    assert hasattr(owner, entry.name), f"{where}: is gone"
    if entry.params is not None:
        params = tuple(inspect.signature(getattr(owner, entry.name)).parameters)
        assert params == entry.params, (
            f"{where}: its parameters changed from {entry.params} to {params}")


def _product_files():
    for path in sorted(ROOT.glob("*.py")) + sorted((ROOT / "server").rglob("*.py")) + \
            sorted((ROOT / "game").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("server/transport/", "game/bots")):
            continue
        yield rel, path.read_text()


def test_nothing_outside_the_transport_touches_library_internals():
    names = set(FORBIDDEN) | {e.name for e in INTERNALS if e.name.startswith("_")}
    found = [f"{rel}:{n}: {name}" for rel, text in _product_files()
             for n, line in enumerate(text.splitlines(), 1) for name in sorted(names)
             if name in line]
    assert not found, ("library internals used outside server/transport; add what is "
                       "needed to the Transport interface instead:\n" + "\n".join(found))


def test_only_the_transport_imports_the_transport_libraries():
    found = []
    for rel, text in _product_files():
        for library, allowed in TRANSPORT_ONLY_IMPORTS.items():
            if rel in allowed or not rel.startswith("server/"):
                continue
            if re.search(rf"^\s*(import|from)\s+{library}\b", text, re.M):
                found.append(f"{rel} imports {library}")
    assert not found, "\n".join(found)


def test_the_transport_lists_every_private_name_it_uses():
    """A private attribute of a library object used in server/transport must
    be in INTERNALS (so the test above checks it)."""
    listed = {e.name for e in INTERNALS}
    used = set()
    for path in (ROOT / "server" / "transport").glob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r"\b(?:sio|eio|ws|socket|Socket|RFC6455WebSocket|Hub|server)"
                               r"\.(_[a-z]\w*)", text))
    assert used <= listed, f"private names used but not in INTERNALS: {sorted(used - listed)}"
