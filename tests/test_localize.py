import re
from pathlib import Path

import pytest

from tools.index import build_index
from tools.localize import localize, render_code, tokenize

REPO = {
    "pkg/__init__.py": "",
    "pkg/parser.py": '''\
"""Parse documents: the parser reads values, headers and parameters."""


class Parser:
    """Parser for header values and parameter lists."""

    def parse(self, text):
        """Parse a header value and its parameters."""
        values = [v.strip() for v in text.split(",")]
        return [self.parse_value(v) for v in values]

    def parse_value(self, value):
        """Parse one value; values may carry parameters."""
        return value.lower()
''',
    "pkg/http.py": '''\
"""HTTP helpers."""


def parse_header(line):
    """Split a Content-Type header into the media type and a dict of params."""
    media, _, rest = line.partition(";")
    params = {}
    for item in rest.split(";"):
        if "=" in item:
            key, val = item.split("=", 1)
            params[key.strip()] = val
    return media.strip(), params


class HTTPResponse:
    def __init__(self, headers):
        self.headers = headers

    def content_type(self):
        return parse_header(self.headers["Content-Type"])
''',
    "pkg/utils.py": '''\
"""Small helpers."""


def slugify(text):
    return "-".join(text.lower().split())


def coerce_value(raw, kind):
    """Turn a raw string into the requested kind."""
    if kind == "int":
        return int(raw)
    if kind == "bool":
        return raw in ("1", "true")
    return raw
''',
    "pkg/cli.py": '''\
from pkg.parser import Parser
from pkg.utils import coerce_value


def main(argv):
    values = Parser().parse(argv[0])
    kind = argv[1]
    return [coerce_value(v, kind) for v in values]
''',
    "tests/test_http.py": '''\
from pkg.http import parse_header


def test_parse_header():
    assert parse_header("text/html; charset=utf-8")[0] == "text/html"


def test_parse_header_params():
    assert parse_header("a; b=c")[1] == {"b": "c"}
    assert parse_header("a")[1] == {}
''',
}

TRACEBACK_ISSUE = '''\
Parsing a header value with parameters crashes

When I run the parser on a header value with a float parameter, parsing the values fails:

Traceback (most recent call last):
  File "/home/me/proj/pkg/cli.py", line 8, in main
    return [coerce_value(v, kind) for v in values]
  File "/home/me/proj/pkg/utils.py", line 11, in coerce_value
    return int(raw)
ValueError: invalid literal for int() with base 10: '1.5'
'''


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("repo")
    for rel, text in REPO.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return build_index(root)


def test_tokenizer_splits_code_identifiers():
    toks = tokenize("HTTPResponse.content_type in pkg/http.py")
    assert {"httpresponse", "http", "response", "content_type", "content", "type", "pkg"} <= set(toks)
    assert "py" not in toks and "in" not in toks


def test_traceback_frame_ranks_first(index):
    loc = localize(index, TRACEBACK_ISSUE)
    # the prose is all about the parser; the innermost frame must still win
    assert loc.files[0][0] == "pkg/utils.py"
    top = loc.symbols[0][0]
    assert (top.path, top.qualname) == ("pkg/utils.py", "coerce_value")
    assert "pkg/cli.py" in [f for f, _ in loc.files[:3]]


def test_prose_only_issue_favours_parser(index):
    loc = localize(index, "Parsing a header value with parameters returns the wrong values")
    assert loc.files[0][0] == "pkg/parser.py"


def test_named_function_ranks_its_file_above_tests(index):
    loc = localize(index, "`parse_header` drops the charset when there are spaces around '='")
    files = [f for f, _ in loc.files]
    assert files[0] == "pkg/http.py"
    assert files.index("tests/test_http.py") > 0
    assert loc.symbols[0][0].qualname == "parse_header"


def test_test_file_named_in_issue_is_not_penalised(index):
    loc = localize(index, "tests/test_http.py::test_parse_header_params is flaky")
    assert loc.files[0][0] == "tests/test_http.py"


def test_limits_and_determinism(index):
    a = localize(index, TRACEBACK_ISSUE, top_files=2, top_symbols=3)
    b = localize(index, TRACEBACK_ISSUE, top_files=2, top_symbols=3)
    assert len(a.files) == 2 and len(a.symbols) == 3
    assert a == b
    assert [s for _, s in a.files] == sorted((s for _, s in a.files), reverse=True)


def test_query_matching_nothing(index):
    loc = localize(index, "zzzz qqqq")
    assert loc.files == [] and loc.symbols == []
    assert render_code(index, loc, 1000) == ""


@pytest.mark.parametrize("budget", [0, 10, 60, 150, 400, 5000])
def test_render_code_respects_budget(index, budget):
    loc = localize(index, TRACEBACK_ISSUE)
    text = render_code(index, loc, budget)
    assert len(text) // 3 <= budget
    words = render_code(index, loc, budget, count_tokens=lambda s: len(s.split()))
    assert len(words.split()) <= budget


def test_render_code_best_first_with_line_numbers(index):
    loc = localize(index, TRACEBACK_ISSUE)
    text = render_code(index, loc, 5000)
    assert text.startswith("## pkg/utils.py")
    assert "   11 |         return int(raw)" in text
    # with a tight budget the best file still comes first, as a snippet around the symbol
    small = render_code(index, loc, 60)
    assert small.startswith("## pkg/utils.py") and "coerce_value" in small


def test_render_code_shows_symbols_of_big_files(index, monkeypatch):
    import tools.localize.render as bm25

    monkeypatch.setattr(bm25, "SMALL_FILE_LINES", 3)  # every fixture file counts as big
    loc = localize(index, TRACEBACK_ISSUE)
    text = render_code(index, loc, 5000)
    section = text.split("## ")[1]
    assert section.startswith("pkg/utils.py")
    assert "def coerce_value(raw, kind):" in section
    assert "def slugify" not in section  # only the ranked symbol, not the whole file


def test_dotted_qualname_mention_ranks_that_method(index):
    loc = localize(index, "pkg.http.HTTPResponse.content_type returns the wrong thing")
    assert loc.symbols[0][0].qualname == "HTTPResponse.content_type"
    assert loc.files[0][0] == "pkg/http.py"


def test_core_localization_never_loads_torch(tmp_path):
    """Embeddings are optional: without PATCHWRIGHT_EMBED the index and localization stay torch-free."""
    import os
    import subprocess
    import sys

    (tmp_path / "m.py").write_text("def parse_header(line):\n    return line.split(';')\n")
    code = ("import sys; from pathlib import Path; from tools.index import build_index; "
            "from tools.localize import localize; "
            f"loc = localize(build_index(Path({str(tmp_path)!r}), cache=None), '`parse_header` fails'); "
            "print(loc.files[0][0], 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "PATCHWRIGHT_EMBED"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert out.stdout.split() == ["m.py", "False"], out.stderr


def test_snippet_imports_follow_reexports_to_the_definition(tmp_path):
    """`from shapes import Circle` names shapes/__init__.py, but the code lives where it is defined."""
    files = {
        "src/shapes/__init__.py": "from .round import Circle\nfrom .square import *\n",
        "src/shapes/round.py": "class Circle:\n    def area(self):\n        return 3.14 * self.r ** 2\n",
        "src/shapes/square.py": "__all__ = ['Square']\n\n\nclass Square:\n    def area(self):\n        return self.s ** 2\n",
        "src/shapes/util.py": "def describe(shape):\n    return f'{shape} with area {shape.area()}'\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    index = build_index(tmp_path, cache=None)
    issue = "Wrong result\n\n```python\nfrom shapes import Circle\nprint(Circle(2).area())\n```\n"
    loc = localize(index, issue)
    assert loc.files[0][0] == "src/shapes/round.py"
    assert loc.symbols[0][0].qualname in ("Circle", "Circle.area")
    aliased = localize(index, "```python\nimport shapes as sh\nsh.Square(3).area()\n```\nis off by one")
    assert aliased.files[0][0] == "src/shapes/square.py"  # through the alias and a star import


TRACE_REPO = {
    "app/__init__.py": "",
    "app/config.py": "def load(path):\n    with open(path) as fh:\n        return parse(fh.read())\n\n\n"
                     "def parse(text):\n    key, value = text.split('=')\n    return {key: value}\n",
    "app/cli.py": "from app.config import load\n\n\ndef main(argv):\n    return load(argv[1])\n",
    "web/src/format.js": "export function pad(s, n) {\n  return s.padStart(n);\n}\n\n"
                         "export function render(row) {\n  return row.cells.map(c => pad(c, 4)).join('|');\n}\n",
    "svc/store.go": "package svc\n\nfunc Open(p string) *Store {\n\treturn &Store{p: p}\n}\n\n"
                    "func (s *Store) Get(k string) string {\n\treturn s.m[k]\n}\n",
}


@pytest.mark.parametrize("trace, path, unit", [
    ("app/cli.py:5: in main\n    return load(argv[1])\napp/config.py:7: in parse\n"
     "    key, value = text.split('=')\nE   ValueError: not enough values to unpack", "app/config.py", "parse"),
    ("File ~/venv/lib/site-packages/app/config.py:3, in load(path)\n----> 3 return parse(fh.read())",
     "app/config.py", "load"),
    ("TypeError: Cannot read properties of undefined (reading 'map')\n"
     "    at render (/srv/web/src/format.js:6:20)\n    at main (/srv/web/src/index.js:3:1)",
     "web/src/format.js", "render"),
    ("panic: assignment to entry in nil map\n\ngoroutine 1 [running]:\n"
     "example.com/svc.(*Store).Get(...)\n\t/home/u/proj/svc/store.go:8 +0x1d", "svc/store.go", "Store.Get"),
])
def test_trace_formats_rank_the_innermost_frame_first(tmp_path, trace, path, unit):
    for rel, text in TRACE_REPO.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    loc = localize(build_index(tmp_path, cache=None), f"It crashes\n\n```\n{trace}\n```\n")
    assert loc.files[0][0] == path
    assert (loc.symbols[0][0].path, loc.symbols[0][0].qualname) == (path, unit)
    assert loc.windows[0][0] == path


VERSIONS_REPO = {
    "xr/__init__.py": "",
    "xr/util/print_versions.py": '"""Print versions of numpy, pandas, scipy, netCDF4, setuptools, pip, conda."""\n\n\n'
                                 "def show_versions():\n    for mod in ('numpy', 'pandas', 'scipy', 'netCDF4', "
                                 "'setuptools', 'pip', 'conda', 'pytest', 'sphinx', 'IPython'):\n"
                                 "        print(mod, 'version')\n",
    "xr/core/indexing.py": '"""Stacking builds a MultiIndex from coordinates."""\n\n\n'
                           "def stack_coords(coords):\n    return safe_cast(coords)\n\n\n"
                           "def safe_cast(values):\n    return values.astype('int64')\n",
}


def test_environment_section_of_the_template_is_ignored(tmp_path):
    for rel, text in VERSIONS_REPO.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    issue = ("stack casts int32 coordinate to int64\n\n### What happened?\n\nStacking coordinates into a "
             "MultiIndex changes their dtype.\n\n### Environment\n\n<details>\nINSTALLED VERSIONS\n"
             "python: 3.10\nnumpy: 1.23 pandas: 1.5 scipy: 1.9 netCDF4: 1.6 setuptools: 65 pip: 22\n"
             "conda: None pytest: 7.2 sphinx: 5.3 IPython: 8.7 version version version\n</details>\n")
    loc = localize(build_index(tmp_path, cache=None), issue)
    assert loc.files[0][0] == "xr/core/indexing.py"


def test_render_code_without_line_numbers_shows_the_lines_as_they_are(index):
    loc = localize(index, TRACEBACK_ISSUE)
    text = render_code(index, loc, 5000, numbered=False)
    assert text.startswith("## pkg/utils.py (score")
    assert "\n        return int(raw)\n" in text and " | " not in text
    assert re.search(r"^lines 1-\d+:\n```\n", text, re.M)  # where the lines are, said once per listing
    assert len(text) < len(render_code(index, loc, 5000))  # and fewer tokens than the numbered listing
