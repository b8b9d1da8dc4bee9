"""YAML in, plain data out, with the source position of every key and value.

PyYAML's own loader forgets where things came from, keeps the last of two
duplicate keys and expands aliases without limit. We compose the node graph
(which shares aliased nodes instead of copying them), measure it, and build
plain dicts/lists ourselves while recording positions by path.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Iterator

import yaml

from ..diagnostics import Diagnostic, Path, diagnostic, format_path
from ..record import field, record

MAX_BYTES = 4 * 1024 * 1024
# Nodes after alias expansion: generous for any real spec, and reached in well under a second by a
# "billion laughs" file. Aliases may also expand a document to at most EXPANSION_RATIO times its own
# nodes (plus EXPANSION_BASE), so memory and output stay a few times the input.
MAX_EXPANDED_NODES = 2_000_000
EXPANSION_RATIO = 10
EXPANSION_BASE = 10_000
# Nesting: Kubernetes objects and Helm values stay within ~20 levels; Python's own recursion does not.
MAX_DEPTH = 100

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_STR_TAG = "tag:yaml.org,2002:str"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_BINARY_TAG = "tag:yaml.org,2002:binary"
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}


@record
class Position:
    """Where a value was written in its file."""
    line: int  # 1-based
    column: int  # 1-based


@record(frozen=False)
class Document:
    """One YAML document: its data and where each part of it was written."""

    file: str
    data: Any
    key_positions: dict[Path, Position] = field(default_factory=dict)
    value_positions: dict[Path, Position] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)
    positioned: bool = True  # False: read by load_json_fast, every position is 1:1

    def position(self, path: Path, at_key: bool = False) -> Position:
        """Where `path` was written; the nearest written ancestor if it was not."""
        path = tuple(path)
        while True:
            if at_key and path in self.key_positions:
                return self.key_positions[path]
            if path in self.value_positions:
                return self.value_positions[path]
            if not path:
                return Position(1, 1)
            path = path[:-1]
            at_key = False

    def diagnostic(self, code: str, path: Path, message: str, at_key: bool = False) -> Diagnostic:
        pos = self.position(path, at_key)
        return diagnostic(code, message, self.file, pos.line, pos.column, format_path(path))


class LoadError(Exception):
    """The file cannot be read as a YAML mapping at all; carries one diagnostic."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _fatal(file: str, code: str, message: str, line: int = 1, column: int = 1) -> LoadError:
    return LoadError(diagnostic(code, message, file, line, column))


def read_text(file: str, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, refusing huge or non-UTF-8 files with one clear message."""
    try:
        with open(file, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise _fatal(file, "unreadable", f"cannot read the file: {exc.strerror}") from None
    return decode(raw, file, max_bytes)


def decode(raw: bytes, file: str, max_bytes: int = MAX_BYTES) -> str:
    """Bytes from anywhere (a file, `git show`) as text, with read_text's refusals."""
    if len(raw) > max_bytes:
        raise _fatal(
            file, "file-too-large",
            f"the file is larger than {max_bytes // (1024 * 1024)} MiB; meshspec refuses it to stay fast and safe. "
            "Split the input or check that this is the file you meant.",
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _fatal(
            file, "encoding",
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8.", line, column,
        ) from None


def load_file(file: str) -> Document:
    """Load a file that must hold exactly one YAML mapping (a spec)."""
    return load_spec_text(read_text(file), file)


def load_spec_text(text: str, file: str) -> Document:
    """Text that must hold exactly one YAML mapping (a spec); `file` names it in diagnostics."""
    docs = load_documents(text, file)
    if not docs:
        raise _fatal(file, "empty-file", "the file is empty; a mesh spec starts with 'apiVersion: meshspec/v1alpha1'.")
    if len(docs) > 1:
        second = docs[1]
        raise _fatal(file, "multiple-documents", "the file holds several YAML documents; a mesh spec is one document.",
                     *_start(second))
    doc = docs[0]
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a {_type_name(doc.data)}"
        raise _fatal(file, "not-a-mapping",
                     f"the top level is {kind}; a mesh spec is a mapping with apiVersion, kind, metadata and spec.",
                     *_start(doc))
    return doc


def load_documents(text: str, file: str) -> list[Document]:
    """Every non-empty document of a YAML stream, as plain data with positions."""
    try:
        nodes = list(_compose_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise _fatal(file, "yaml-syntax", f"invalid YAML: {problem}",
                     (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1) from None
    except yaml.YAMLError as exc:
        raise _fatal(file, "yaml-syntax", f"invalid YAML: {exc}") from None
    docs = []
    for node in nodes:
        if "*" in text or len(text) >= MAX_EXPANDED_NODES:
            _check_expansion(node, file)
        else:  # no alias can be written without a '*', and a tree has fewer nodes than its text has characters
            _check_depth(node, file)
        doc = Document(file, None)
        doc.data = _Builder(doc).build(node, ())
        docs.append(doc)
    return docs


class _DuplicateKey(Exception):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKey
    return result


def load_json_fast(text: str, file: str) -> list[Document] | None:
    """A JSON file at the C parser's speed (70x the positioned loader on kubectl dumps), without positions.
    None when the text is not plain JSON or repeats a key: the caller then uses load_documents, which
    reports exactly where. A caller that finds a problem in the data reloads with positions to locate it."""
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates)
    except (ValueError, _DuplicateKey):
        return None
    except RecursionError:
        raise _fatal(file, "yaml-syntax", f"the JSON is nested deeper than Python reads ({sys.getrecursionlimit()} "
                     "levels); no Kubernetes object needs that many: check the file.") from None
    if "\\" in text and "\\u" in text:  # one character is found 30x faster (memchr): most dumps have none
        _refuse_lone_surrogates(text, file)
    return [] if data is None else [Document(file, data, positioned=False)]


# A \uD800-\uDBFF escape not followed by a \uDC00-\uDFFF one, or a low one without a high one before it:
# valid JSON syntax, but not a character, and no UTF-8 output can hold it.
_LONE_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _refuse_lone_surrogates(text: str, file: str) -> None:
    match = _LONE_SURROGATE.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        raise _fatal(file, "encoding", f"{match.group()} is half of a UTF-16 surrogate pair, not a character; "
                     "fix or remove that escape.", line, column)


def _compose_all(text: str) -> Iterator[yaml.Node]:
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if not _is_empty(node):
                yield node
    finally:
        loader.dispose()


def _is_empty(node: yaml.Node | None) -> bool:
    # A bare '---' (or trailing separator) composes to an empty null scalar.
    return node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null") and not node.value)


def _start(doc: Document) -> tuple[int, int]:
    pos = doc.position(())
    return pos.line, pos.column


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}.get(
        type(value), type(value).__name__)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _check_depth(root: yaml.Node, file: str) -> None:
    """_check_expansion for a document without aliases (a tree): only its depth can be too much. The same
    walk, in the same order, so the same node is reported."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(file, node)
        if isinstance(node, yaml.MappingNode):
            stack.extend((n, depth + 1) for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((n, depth + 1) for n in node.value)


def _too_deep(file: str, node: yaml.Node) -> LoadError:
    return _fatal(file, "yaml-syntax", f"the document is nested deeper than {MAX_DEPTH} levels; no mesh spec "
                  "or Kubernetes object needs that many: check for runaway brackets or indentation.",
                  node.start_mark.line + 1, node.start_mark.column + 1)


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Refuse a document nested deeper than MAX_DEPTH, with aliases that loop, or that would expand past
    MAX_EXPANDED_NODES or EXPANSION_RATIO times its own size. Iterative: depth is what is measured."""
    sizes: dict[int, int] = {}  # id(node) -> nodes once expanded
    active: set[int] = set()  # the nodes on the current path (an alias back to one of them loops)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, finished = stack.pop()
        key = id(node)
        if finished:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_EXPANDED_NODES:
                raise _too_large(file, node)
            continue
        if key in sizes:
            continue
        mark = node.start_mark
        if key in active:
            raise _fatal(file, "yaml-aliases", "a YAML alias refers to itself; remove the recursive alias.",
                         mark.line + 1, mark.column + 1)
        if depth > MAX_DEPTH:
            raise _too_deep(file, node)
        active.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node) if id(child) not in sizes)
    if sizes[id(root)] > EXPANSION_BASE + EXPANSION_RATIO * len(sizes):
        raise _too_large(file, root)


def _too_large(file: str, node: yaml.Node) -> LoadError:
    return _fatal(file, "yaml-aliases", "YAML aliases here expand to far more nodes than the file holds (a "
                  f"'billion laughs' document, or close to one: at most {MAX_EXPANDED_NODES:,} nodes, and "
                  f"{EXPANSION_RATIO} times the file's own plus {EXPANSION_BASE:,}); write the values out or use "
                  "fewer nested aliases.", node.start_mark.line + 1, node.start_mark.column + 1)


_CONSTRUCTOR = yaml.SafeLoader("")


class _Unreadable(Exception):
    """A scalar that cannot be read as its tag says; the message says why."""


def _construct(node: yaml.ScalarNode) -> Any:
    """A scalar as Kubernetes tools read it, without PyYAML's cache of every node ever built (which
    construct_object keeps, and which grew without bound over a large state folder).

    Timestamps stay the strings they were written as: kubectl, Helm and the API server read YAML
    through JSON (sigs.k8s.io/yaml), where a date is a string; as a Python date it would break every
    JSON output. Binary values have no JSON form at all."""
    if node.tag == _TIMESTAMP_TAG:
        return node.value
    if node.tag == _BINARY_TAG:
        raise _Unreadable("binary values (!!binary) have no JSON form; write the value as a string")
    constructor = yaml.SafeLoader.yaml_constructors.get(node.tag)
    if constructor is None or not isinstance(node, yaml.ScalarNode):
        raise _Unreadable(f"the tag {node.tag!r} is not one meshspec reads; remove it")
    try:
        return constructor(_CONSTRUCTOR, node)
    except (yaml.YAMLError, ValueError, TypeError, KeyError, OverflowError) as exc:
        # !!int x, !!bool maybe, an integer of more digits than Python converts, ...
        what = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else str(exc)
        raise _Unreadable(f"{node.value[:40]!r} is not a valid {node.tag.rsplit(':', 1)[-1]} ({what[:120]})") \
            from None


class _Builder:
    """Turns a composed node graph into plain data, recording positions and problems."""

    def __init__(self, doc: Document):
        self.doc = doc

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.doc.value_positions.setdefault(path, _pos(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag == _BOOL_TAG and node.value.lower() in _YAML11_BOOLS:
            self._problem("yaml11-boolean", path,
                          f"'{node.value}' is read as the boolean {node.value.lower() in ('yes', 'on', 'y')} "
                          "(YAML 1.1); write true or false, or quote it if you meant the string.")
        try:
            return _construct(node)
        except _Unreadable as exc:
            self._problem("yaml-tag", path, f"cannot read this value: {exc}.")
            return node.value

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict:
        result: dict = {}
        first_seen: dict[Any, Position] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.extend(value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node])
                continue
            key = self.build(key_node, path + ("<key>",)) if not isinstance(key_node, yaml.ScalarNode) \
                else self._key(key_node, path)
            if not isinstance(key, str):
                self._problem("key-type", path, f"the key {key_node.value!r} is read as a "
                              f"{_type_name(key)}; keys must be strings: quote it.", pos=_pos(key_node))
                key = str(key_node.value)
            if key in first_seen:
                seen = first_seen[key]
                self._problem("duplicate-key", path + (key,),
                              f"duplicate key '{key}' (first defined at line {seen.line}, column {seen.column}); "
                              "YAML keeps only the last one, so remove one of them.", pos=_pos(key_node))
            first_seen[key] = _pos(key_node)
            child = path + (key,)
            self.doc.key_positions.setdefault(child, _pos(key_node))
            self.doc.value_positions.setdefault(child, _pos(value_node))
            result[key] = self.build(value_node, child)
        for merged in merges:
            if not isinstance(merged, yaml.MappingNode):
                self._problem("yaml-merge", path, "'<<' must merge a mapping or a list of mappings.")
                continue
            for key, value in self._mapping(merged, path).items():
                result.setdefault(key, value)
        return result

    def _key(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag == _STR_TAG:
            return node.value
        try:
            return _construct(node)
        except _Unreadable:
            return node.value

    def _problem(self, code: str, path: Path, message: str, pos: Position | None = None) -> None:
        pos = pos or self.doc.position(path)
        self.doc.problems.append(diagnostic(code, message, self.doc.file, pos.line, pos.column, format_path(path)))


def _pos(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)
