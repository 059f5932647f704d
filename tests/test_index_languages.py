"""Each supported language: a small file yields its definitions with the right names, kinds,
scopes and line ranges, plus its imports and the names it calls (fixtures in fixtures/languages)."""
import shutil
from pathlib import Path

import pytest

from tools.index import build_index

FIXTURES = Path(__file__).parent / "fixtures" / "languages"

EXPECTED = {  # file: {qualname: (kind, start_line, end_line)}
    "sample.js": {
        "area": ("function", 5, 7),          # starts at `export`, after its /** */ comment
        "double": ("function", 9, 9),        # an arrow function held by a const
        "Shape": ("class", 11, 19),
        "Shape.constructor": ("method", 12, 14),
        "Shape.describe": ("method", 16, 18),
    },
    "sample.ts": {
        "Shape": ("interface", 3, 5),
        "Shape.area": ("method", 4, 4),
        "Point": ("type", 7, 7),
        "Color": ("enum", 9, 9),
        "Circle": ("class", 11, 17),
        "Circle.constructor": ("method", 12, 12),
        "Circle.area": ("method", 14, 16),
        "makeCircle": ("function", 19, 21),
    },
    "sample.tsx": {
        "Props": ("interface", 3, 5),
        "Button": ("function", 7, 9),
        "App": ("function", 11, 13),
    },
    "sample.go": {
        "Circle": ("class", 9, 11),
        "Shape": ("interface", 14, 16),
        "Shape.Area": ("method", 15, 15),
        "Circle.Area": ("method", 19, 21),   # the receiver type is the scope
        "Describe": ("function", 23, 25),
    },
    "Sample.java": {
        "Circle": ("class", 6, 23),
        "Circle.Circle": ("method", 9, 11),  # the constructor
        "Circle.area": ("method", 13, 16),   # from its annotation
        "Circle.Visitor": ("interface", 18, 20),
        "Circle.Visitor.visit": ("method", 19, 19),
        "Circle.Kind": ("enum", 22, 22),
    },
    "sample.rs": {
        "Circle": ("class", 4, 7),           # from its #[derive] attribute
        "Circle.new": ("method", 10, 12),    # functions of `impl Circle`
        "Circle.area": ("method", 14, 16),
        "Shape": ("interface", 19, 21),
        "Shape.area": ("method", 20, 20),
        "Kind": ("enum", 23, 25),
        "inner": ("module", 27, 29),
        "inner.helper": ("function", 28, 28),
    },
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("langs")
    for f in FIXTURES.iterdir():
        shutil.copy(f, root / f.name)
    return build_index(root, cache=None)


def test_every_language_is_indexed(index):
    assert sorted(index.files()) == sorted(EXPECTED)
    for lang in ("go", "java", "javascript", "rust", "tsx", "typescript"):
        assert index.stats[f"files_{lang}"] == 1, lang
    assert index.stats["with_errors"] == 0


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_definitions_and_line_ranges(index, path):
    got = {s.qualname: (s.kind, s.start_line, s.end_line) for s in index.symbols_in(path)}
    assert got == EXPECTED[path]
    for s in index.symbols_in(path):
        assert s.name == s.qualname.rsplit(".", 1)[-1]


def test_signatures_and_doc_comments(index):
    syms = {(s.path, s.qualname): s for s in index.symbols()}
    assert syms["sample.js", "area"].signature == "function area(r)"
    assert syms["sample.js", "area"].docstring == "Area of a circle."
    assert syms["sample.go", "Circle.Area"].signature == "func (c *Circle) Area() float64"
    assert syms["sample.go", "Circle.Area"].docstring == "Area of the circle."
    assert syms["sample.go", "Circle"].signature == "type Circle struct"
    assert syms["sample.rs", "Circle"].docstring == "A circle."
    assert syms["sample.rs", "Circle.area"].signature == "pub fn area(&self) -> f64"
    assert syms["Sample.java", "Circle"].docstring == "A circle."
    assert syms["sample.ts", "makeCircle"].signature == "function makeCircle(r: number): Circle"


def test_imports_and_references(index):
    assert ("./helper", "helper", 2) in index.imports("sample.js")
    assert {m for m, _, _ in index.imports("sample.go")} == {"fmt", "math"}
    assert ("java.util.List", "", 3) in index.imports("Sample.java")
    assert {m for m, _, _ in index.imports("sample.rs")} == {"std::fmt", "std::fmt::Display"}
    assert ("./config", "Config", 1) in index.imports("sample.ts")
    assert {"helper", "area", "Base"} <= {n for n, _ in index.references("sample.js")}
    assert ("Sprintf", 24) in index.references("sample.go")
