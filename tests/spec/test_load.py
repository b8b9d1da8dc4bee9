import os
import threading
import time

import pytest

from meshspec.spec.load import MAX_BYTES, LoadError, load_documents, load_file, read_text


def load_error(path) -> "LoadError":
    with pytest.raises(LoadError) as info:
        load_file(str(path))
    return info.value.diagnostic


def test_positions_point_at_keys_and_values(spec_file):
    doc = load_file(spec_file("""\
        spec:
          clusters:
            - name: cluster-a
              id: 1
        """))
    assert doc.data == {"spec": {"clusters": [{"name": "cluster-a", "id": 1}]}}
    key = doc.position(("spec", "clusters", 0, "id"), at_key=True)
    assert (key.line, key.column) == (4, 7)
    value = doc.position(("spec", "clusters", 0, "name"))
    assert (value.line, value.column) == (3, 13)


def test_missing_path_falls_back_to_nearest_parent(spec_file):
    doc = load_file(spec_file("spec:\n  clusters: []\n"))
    pos = doc.position(("spec", "clusters", 3, "name"))
    assert (pos.line, pos.column) == (2, 13)


def test_duplicate_key_is_reported_at_the_second_occurrence(spec_file):
    doc = load_file(spec_file("""\
        spec:
          shared: true
          shared: false
        """))
    [problem] = doc.problems
    assert (problem.severity, problem.code, problem.line, problem.column) == ("error", "duplicate-key", 3, 3)
    assert "first defined at line 2, column 3" in problem.message


def test_duplicate_keys_are_found_in_nested_mappings_too(spec_file):
    doc = load_file(spec_file("a:\n  - b: 1\n    c: 2\n    b: 3\n"))
    assert [(p.code, p.line) for p in doc.problems] == [("duplicate-key", 4)]


def test_yaml11_booleans_are_read_but_flagged(spec_file):
    doc = load_file(spec_file("shared: yes\nglobal: true\n"))
    assert doc.data == {"shared": True, "global": True}
    assert [(p.severity, p.code, p.line) for p in doc.problems] == [("warning", "yaml11-boolean", 1)]


def test_non_string_keys_are_errors(spec_file):
    doc = load_file(spec_file("spec:\n  80: http\n"))
    assert [(p.code, p.line, p.column) for p in doc.problems] == [("key-type", 2, 3)]


def test_merge_keys_are_honoured_without_losing_explicit_values(spec_file):
    doc = load_file(spec_file("""\
        base: &base {shared: false, affinity: local}
        svc:
          <<: *base
          affinity: remote
        """))
    assert doc.data["svc"] == {"shared": False, "affinity": "remote"}


def test_billion_laughs_is_rejected_quickly(spec_file):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    start = time.perf_counter()
    problem = load_error(spec_file("\n".join(lines) + "\n"))
    assert time.perf_counter() - start < 1.0
    assert problem.code == "yaml-aliases"
    assert "billion laughs" in problem.message


def test_small_aliases_are_fine(spec_file):
    doc = load_file(spec_file("a: &x [1, 2]\nb: *x\n"))
    assert doc.data == {"a": [1, 2], "b": [1, 2]}


@pytest.mark.parametrize("content, code, fragment", [
    (b"", "empty-file", "empty"),
    (b"# only a comment\n", "empty-file", "empty"),
    (b"- a\n- b\n", "not-a-mapping", "top level is a list"),
    (b"just a string\n", "not-a-mapping", "top level is a string"),
    (b"a: 1\n---\nb: 2\n", "multiple-documents", "several YAML documents"),
    (b"a: \xff\xfe\n", "encoding", "not valid UTF-8"),
    (b"a: [1, 2\n", "yaml-syntax", "invalid YAML"),
    (b"a: !!python/object:os.system x\n", None, None),
])
def test_unreadable_files_get_one_clear_message(tmp_path, content, code, fragment):
    path = tmp_path / "mesh.yaml"
    path.write_bytes(content)
    if code is None:  # unknown tags are a located problem, never executed
        doc = load_file(str(path))
        assert [p.code for p in doc.problems] == ["yaml-tag"]
        return
    problem = load_error(path)
    assert problem.code == code
    assert fragment in problem.message
    assert problem.file == str(path)


def test_encoding_error_is_located(tmp_path):
    path = tmp_path / "mesh.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    problem = load_error(path)
    assert (problem.line, problem.column) == (2, 7)


def test_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "mesh.yaml"
    path.write_bytes(b"a: " + b"x" * (10 * 1024 * 1024) + b"\n")
    start = time.perf_counter()
    problem = load_error(path)
    assert time.perf_counter() - start < 1.0
    assert problem.code == "file-too-large"
    assert f"{MAX_BYTES // (1024 * 1024)} MiB" in problem.message


@pytest.mark.parametrize("extra, refused", [(-1, False), (0, False), (1, True), (5000, True)])
def test_the_size_limit_is_exact(tmp_path, extra, refused):
    path = tmp_path / "state.json"
    path.write_bytes(b"1" * (64 + extra))
    if refused:
        with pytest.raises(LoadError) as info:
            read_text(str(path), 64)
        assert info.value.diagnostic.code == "file-too-large"
    else:
        assert read_text(str(path), 64) == "1" * (64 + extra)


def _write_ignoring_a_closed_reader(path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except BrokenPipeError:  # the reader stopped at its limit
        pass


def test_a_pipe_is_read_to_its_end_and_limited(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for content, refused in ((b"a: 1\n" * 1000, False), (b"x" * 70000, True)):
        writer = threading.Thread(target=_write_ignoring_a_closed_reader, args=(fifo, content))
        writer.start()
        try:
            if refused:
                with pytest.raises(LoadError) as info:
                    read_text(str(fifo), 65536)
                assert info.value.diagnostic.code == "file-too-large"
            else:
                assert read_text(str(fifo), 65536) == content.decode()
        finally:
            writer.join()


def test_syntax_error_points_at_the_problem(tmp_path):
    path = tmp_path / "mesh.yaml"
    path.write_text("a:\n  b: 1\n c: 2\n")
    problem = load_error(path)
    assert problem.code == "yaml-syntax"
    assert problem.line == 3


def test_load_documents_reads_streams():
    docs = load_documents("a: 1\n---\nb: 2\n---\n", "x.yaml")
    assert [d.data for d in docs] == [{"a": 1}, {"b": 2}]
    assert docs[1].position(("b",)).line == 3


@pytest.mark.parametrize("tail", ["", "other: *a\n"], ids=["no alias: depth walk", "alias: full expansion walk"])
def test_too_deep_is_reported_at_the_same_node_whether_or_not_the_file_has_aliases(tail):
    """A file without '*' has no alias, so only its depth is checked (a cheaper walk): it must refuse the same
    documents, at the same place, as the full check a file with aliases gets."""
    deep = "a: &a 1\nb: " + "[" * 60 + "[" * 50 + "]" * 110 + "\nc: " + "[" * 120 + "]" * 120 + "\n" + tail
    with pytest.raises(LoadError) as info:
        load_documents(deep, "deep.yaml")
    found = info.value.diagnostic
    assert found.code == "yaml-syntax" and "nested deeper than 100 levels" in found.message
    assert (found.line, found.column) == (3, 103)  # the last branch is walked first, in both walks
    assert load_documents("a: " + "[" * 99 + "]" * 99 + "\n", "ok.yaml")[0].data["a"] is not None
