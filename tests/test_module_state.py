"""No module-level mutable state in the core: state belongs to an object someone owns and passes on (the API's
query service, a Dagster run's resource, a classifier run), not to a module every caller shares implicitly.

The scan reads the source (AST) of twin_assets and twin_query and reports, as ``module:name``:

- ``global`` statements (a module variable rebound at run time);
- module-level ``threading.local()``, locks, ``ContextVar``s, and containers created empty (they exist to be
  filled at run time);
- module-level containers that the module mutates (``X[k] = v``, ``X.append(...)``, ``X.pop(...)``, ...);
- class-level containers created empty (a cache shared by every instance);
- module-level functions memoised with ``functools.cache``/``lru_cache``.

A constant table (a literal the module never mutates) is not state. ``PURE_MEMOS`` lists the memoised functions
that are genuinely immutable: each caches a pure function of its arguments (same input, same output, nothing
observable besides speed), bounded. Anything else the scan finds fails the test: the count of unowned state is
zero and stays there (issue 16).

    python -m tests.test_module_state [ROOT]   # prints what the scan finds (default: this checkout)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("twin_assets", "twin_query")

PURE_MEMOS = {
    # text -> folded text, raw name -> immutable NameParts: pure, at most 65536 entries each
    "twin_assets.processing.names:_fold_short",
    "twin_assets.processing.names:_parse_short",
    # zone name -> ZoneInfo (or None): pure, 512 entries
    "twin_assets.processing.timeline:_zone",
    # iCalendar TZID -> zone guess: pure, 2048 entries; the zone tables it reads, built once from tzdata
    "twin_assets.connectors.calendar:resolve_tzid",
    "twin_assets.connectors.calendar:_iana_by_lower",
    "twin_assets.connectors.calendar:_iana_by_city",
    "twin_assets.connectors.calendar:_windows_by_lower",
    # a parsed MIME structure header (an immutable str subclass) by its text: pure, 2048 entries
    "twin_assets.connectors.email:_structure_header",
    # a dataclass's field names: pure
    "twin_assets.stores.derived:_field_names",
    # the installed model code's hash, the shipped embedding weights' hash and the settings model's fields: one
    # value each, fixed by what is installed
    "twin_assets.embedding:model_hash",
    "twin_assets.pipeline.freshness:code_version",
    "twin_assets.settings:fields_by_variable",
    # VADER's analyzer: its lexicon, read-only once loaded
    "twin_assets.processing.sentiment:_analyzer",
    # the installed connectors: one ConnectorRegistry (read-only mappings of connectors and failed entry points),
    # fixed by what is installed
    "twin_assets.connectors.registry:installed",
}

# ContextVars set and reset by a ``with`` block: they scope an owner's object to the calls made inside the block
# (the value is the block's, and the variable is empty outside any block), so they hold no state of their own.
SCOPED_CONTEXT = {
    # run.materialize's embedding models, seen by the TwinResource of each run it executes in process (a
    # ContextVar because Dagster builds the resource itself, from config, and keeps no object handed to it)
    "twin_assets.defs.resources:_shared_models",
    # bulk_writes(): commits inside the block skip the WAL fsync; the pool's checkout hook reads it (SQLAlchemy
    # calls the hook, so the flag cannot be passed as an argument)
    "twin_assets.db.engine:_bulk",
    # progress.reporting(): the CLI's progress bar, reported to by the steps of the runs it executes in process
    # (for the same reason as _shared_models)
    "twin_assets.progress:_reporter",
    # keys.using_passphrase(): the passphrase twin init was given, for the keys created and opened in its block
    "twin_assets.keys:_passphrase_override",
}

EMPTY_CALLS = {"dict", "list", "set", "OrderedDict", "defaultdict", "deque", "Counter", "WeakSet"}
EMPTY_CALLS |= {"WeakValueDictionary", "WeakKeyDictionary"}
STATE_CALLS = {"local", "Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "ContextVar"}
MUTATORS = {"append", "extend", "insert", "add", "update", "pop", "popitem", "clear", "setdefault", "remove"}
MUTATORS |= {"discard", "move_to_end", "appendleft", "sort", "reverse", "__setitem__", "__delitem__"}
MEMOS = {"cache", "lru_cache", "cached"}


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        f = node.func
        return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    return None


def _is_empty_container(node: ast.expr) -> bool:
    if isinstance(node, ast.Dict | ast.List | ast.Set) and not getattr(node, "keys", getattr(node, "elts", None)):
        return True
    name = _call_name(node)
    return name in EMPTY_CALLS and isinstance(node, ast.Call) and (not node.args or name == "defaultdict")


def _is_container(node: ast.expr) -> bool:
    if isinstance(node, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    return _call_name(node) in EMPTY_CALLS


def _targets(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id]
    return []


def _module_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Top-level statements, including those inside module-level if/try blocks."""
    stack = list(tree.body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, ast.If | ast.Try):
            stack[:0] = [*node.body, *node.orelse, *getattr(node, "finalbody", []), *getattr(node, "handlers", [])]
        elif isinstance(node, ast.ExceptHandler):
            stack[:0] = node.body
        else:
            yield node


def _mutated_names(tree: ast.Module) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for t in targets:
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name):
                    out.add(t.value.id)
                if isinstance(node, ast.AugAssign) and isinstance(t, ast.Name):
                    out.add(t.id)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
            and isinstance(node.func.value, ast.Name)
        ):
            out.add(node.func.value.id)
    return out


def _decorator_name(node: ast.expr) -> str | None:
    node = node.func if isinstance(node, ast.Call) else node
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None


def scan_source(module: str, source: str) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    mutated = _mutated_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.update(f"{module}:{name}" for name in node.names)
    for node in _module_statements(tree):
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        for name in _targets(node):
            assert value is not None
            if (
                _call_name(value) in STATE_CALLS
                or _is_empty_container(value)
                or (_is_container(value) and name in mutated)
            ):
                found.add(f"{module}:{name}")
        if isinstance(node, ast.FunctionDef) and any(_decorator_name(d) in MEMOS for d in node.decorator_list):
            found.add(f"{module}:{node.name}")
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                shared = item.value if isinstance(item, ast.Assign | ast.AnnAssign) else None
                for name in _targets(item):
                    if shared is not None and (_is_empty_container(shared) or _call_name(shared) in STATE_CALLS):
                        found.add(f"{module}:{node.name}.{name}")
    return found


def scan(root: Path = ROOT) -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            found |= scan_source(module, path.read_text(encoding="utf-8"))
    return found


def test_no_new_module_level_mutable_state():
    new = scan() - PURE_MEMOS - SCOPED_CONTEXT
    assert not new, "module-level mutable state (give it an owner; see this module's docstring):\n" + "\n".join(
        sorted(new)
    )


def test_the_lists_name_only_what_the_scan_finds():
    """A memo that went away, or state that got its owner, leaves its list: a stale entry would hide a newcomer."""
    found = scan()
    listed = PURE_MEMOS | SCOPED_CONTEXT
    assert not (listed - found), sorted(listed - found)


def test_scoped_contexts_are_context_vars_reset_by_their_block():
    """An entry of SCOPED_CONTEXT must be a ContextVar whose module resets it (the ``with`` block's ``finally``)."""
    for entry in SCOPED_CONTEXT:
        module, name = entry.split(":")
        source = (ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
        assert f"{name}: ContextVar[" in source or f"{name} = ContextVar(" in source, entry
        assert f"{name}.reset(" in source, entry


def test_the_scan_finds_each_kind_of_state():
    source = """
import threading, functools
from collections import OrderedDict
_local = threading.local()
_lock = threading.Lock()
_empty: dict[str, int] = {}
_lru = OrderedDict()
TABLE = {"a": 1}
FILLED = {"a": 1}
FILLED["b"] = 2
ITEMS = [1]
if True:
    _late = []

def grow():
    ITEMS.append(2)

def rebind():
    global _flag
    _flag = True

@functools.lru_cache(maxsize=8)
def memo(x):
    return x

class Holder:
    cache = {}
    names = ("a",)
"""
    got = {name.split(":", 1)[1] for name in scan_source("m", source)}
    assert got == {"_local", "_lock", "_empty", "_lru", "FILLED", "ITEMS", "_late", "_flag", "memo", "Holder.cache"}


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    everything = scan(root)
    for entry in sorted(everything):
        kind = "pure     " if entry in PURE_MEMOS else "scoped   " if entry in SCOPED_CONTEXT else "STATE    "
        print(kind + entry)
    state = everything - PURE_MEMOS - SCOPED_CONTEXT
    print(
        f"{len(state)} module-level mutable state, {len(everything & PURE_MEMOS)} pure memos, "
        f"{len(everything & SCOPED_CONTEXT)} scoped contexts"
    )
