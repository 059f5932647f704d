"""Turn a SWE-bench install/test spec into the three scripts the official harness runs, without
conda and without the internet at test time:

* env: a venv with the spec's dependencies (conda `packages` installed with pip under the same
  names, `pip_packages`, requirements.txt / environment.yml read from the local mirror at the
  environment setup commit), cached per (repository, version);
* instance: the repository at its base commit, `pre_install` and `install`, committed clean;
* eval: the official eval script (reset test files, apply test_patch, run test_cmd on the test
  files of the test patch between the official markers).
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from agent.swebench.dataset import Specs
from tools import gitsafe

# Debian suites reachable on the mirror and their Python. buster (3.7) is gone from it.
SUITES = {"bullseye": (3, 9), "bookworm": (3, 11), "trixie": (3, 13)}
START, END = ">>>>> Start Test Output", ">>>>> End Test Output"
# Toolchain for C extensions (astropy) and sdists without wheels for the suite's Python; patch
# for the official harness's last apply fallback.
BASE_EXTRA_PACKAGES = ["python3-dev", "build-essential", "patch"]
# The venv's bootstrap tools, held to the versions of the official images' era: newer setuptools
# drops pkg_resources behaviour old test suites rely on; pip 25.3 drops legacy editable installs.
BOOTSTRAP = ["pip<25.3", "setuptools<76", "wheel<0.46"]
# conda names with a different (or no) name on PyPI.
CONDA_TO_PIP = {"matplotlib-base": "matplotlib", "dask-core": "dask", "pytables": "tables", "iris": "scitools-iris"}
CONDA_ONLY = {"python", "pip", "hdf5", "cdms2", "libnetcdf", "nodefaults", "conda-forge"}
# Upper bounds for packages whose later releases removed APIs the benchmark-era code imports
# (docutils 0.22, July 2025, dropped docutils.utils.roman, which every sphinx 3.x/4.x test
# imports). The official images were built before those releases; specs pin none of them.
ERA_CAPS = {"sphinx-doc/sphinx": ["docutils<0.22"]}
ERA_FILE = "/patchwright/era-constraints.txt"
# Early requests tests call httpbin at $HTTPBIN_URL: served from PyPI's httpbin on loopback.
SERVICES = {"psf/requests": "httpbin"}
HTTPBIN_PORT = 8765


def choose_suite(python: str) -> tuple[str, str]:
    """The suite whose Python is nearest the spec's; ties go to the older one, because a spec's
    pinned packages come from its own era and lack wheels for newer interpreters."""
    want = tuple(int(x) for x in str(python).split(".")[:2])
    suite = min(SUITES, key=lambda s: (abs((SUITES[s][0] - want[0]) * 100 + SUITES[s][1] - want[1]), SUITES[s]))
    return suite, "%d.%d" % SUITES[suite]


def conda_to_pip(spec: str) -> str | None:
    spec = spec.split("#")[0].strip()
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(==|>=|<=|!=|~=|=|<|>)?\s*(\S*)$", spec)
    if not m:
        return spec or None
    name, op, version = m.groups()
    if name.lower() in CONDA_ONLY:
        return None
    name = CONDA_TO_PIP.get(name.lower(), name)
    if op == "=":  # conda's "=1.2" means any 1.2.x
        op, version = "==", version if version.endswith("*") or version.count(".") >= 2 else version + ".*"
    return f"{name}{op or ''}{version or ''}"


def git_show(mirror: Path, commit: str, path: str) -> str | None:
    out = gitsafe.run(None, ["--git-dir", str(mirror), "show", f"{commit}:{path}"], text=True, check=False)
    return out.stdout if out.returncode == 0 else None


def _mirror_gitdir(mirror: Path) -> Path:
    return mirror / ".git" if (mirror / ".git").is_dir() else mirror


def requirements_text(repo: str, commit: str, mirror: Path, specs: Specs) -> str:
    """The official get_requirements, read from the mirror instead of raw.githubusercontent.com."""
    from swebench.harness.test_spec.python import clean_requirements

    gitdir = _mirror_gitdir(mirror)
    for path in specs.reqs_paths.get(repo, ["requirements.txt"]):
        text = git_show(gitdir, commit, path)
        if text is not None:
            break
    else:
        raise ValueError(f"no requirements file {specs.reqs_paths.get(repo)} in {repo} at {commit}")
    req_dir = "/".join(path.split("/")[:-1])
    excluded = lambda line: any(line.strip().startswith(x) for x in ("-e .", "#", ".[test"))  # noqa: E731
    original, additional = [], []
    for line in text.split("\n"):
        if line.strip().startswith("-r"):
            included = git_show(gitdir, commit, "/".join(p for p in (req_dir, line[2:].strip()) if p))
            additional += [x for x in (included or "").split("\n") if not excluded(x)]
        elif not excluded(line):
            original.append(line)
    additional.append("\n".join(original))
    return clean_requirements("\n".join(additional))


def environment_yml_packages(repo: str, commit: str, mirror: Path, specs: Specs) -> list[str]:
    import yaml

    gitdir = _mirror_gitdir(mirror)
    for path in specs.env_yml_paths.get(repo, ["environment.yml"]):
        text = git_show(gitdir, commit, path)
        if text is not None:
            break
    else:
        raise ValueError(f"no environment.yml {specs.env_yml_paths.get(repo)} in {repo} at {commit}")
    packages: list[str] = []
    for dep in yaml.safe_load(text).get("dependencies", []):
        if isinstance(dep, dict):
            packages += [str(p) for p in dep.get("pip", [])]
        elif (pip := conda_to_pip(str(dep))) is not None:
            packages.append(pip)
    return packages


_INSTALL_FN = r'''pw_install() {  # all together; if that fails, one at a time, naming what could not be had
  python -m pip install $PW_CONSTRAINT "$@" && return 0
  echo ">>>>> patchwright: installing together failed; trying one at a time"
  for p in "$@"; do python -m pip install $PW_CONSTRAINT "$p" || echo ">>>>> patchwright: not installed: $p"; done
}
'''


def env_script(row: dict, spec: dict, mirror: Path | None, specs: Specs) -> str:
    repo, commit = row["repo"], row.get("environment_setup_commit") or row["base_commit"]
    q = lambda items: " ".join(shlex.quote(i) for i in items)  # noqa: E731
    lines = ["set -euxo pipefail", "python3 -m venv /venv", "export PATH=/venv/bin:$PATH",
             f"python -m pip install -q -U {q(BOOTSTRAP)}", "PW_CONSTRAINT=", _INSTALL_FN]
    if ERA_CAPS.get(repo):
        lines += [f"mkdir -p /patchwright && printf '%s\\n' {q(ERA_CAPS[repo])} > {ERA_FILE}", f"export PIP_CONSTRAINT={ERA_FILE}"]
    packages = spec.get("packages", "")
    pins = [p for p in spec.get("pip_packages", []) if "==" in p]
    if packages == "requirements.txt":
        reqs = requirements_text(repo, commit, mirror, specs)
        lines += [f"cat <<'EOF_59812759871' > /root/requirements.txt\n{reqs}\nEOF_59812759871",
                  "python -m pip install -r /root/requirements.txt || "
                  "{ grep -vE '^\\s*(#|$)' /root/requirements.txt | while read -r r; do "
                  "python -m pip install \"$r\" || echo \">>>>> patchwright: not installed: $r\"; done; }"]
    elif packages == "environment.yml":
        # Constrained by the spec's own pins, so the resolver picks versions that agree with them
        # (conda would install the newest, then pip downgrade numpy under compiled packages).
        lines += [f"printf '%s\\n' {q(pins)} > /root/pins.txt" if pins else ": > /root/pins.txt",
                  "PW_CONSTRAINT='-c /root/pins.txt'",
                  f"pw_install {q(environment_yml_packages(repo, commit, mirror, specs))}",
                  "PW_CONSTRAINT="]
    elif packages:
        lines.append(f"pw_install {q([p for p in map(conda_to_pip, packages.split()) if p])}")
    if spec.get("pip_packages"):
        lines.append(f"pw_install {q(spec['pip_packages'])}")
    if SERVICES.get(repo) == "httpbin":
        lines += ["python3 -m venv /opt/httpbin",
                  "/opt/httpbin/bin/python -m pip install -q httpbin gunicorn || "
                  "echo '>>>>> patchwright: not installed: httpbin'"]
    return "\n".join(lines) + "\n"


def tox_env(test_cmd: str) -> str | None:
    m = re.search(r"tox\s+--current-env\s+-e\s*(\S+)", test_cmd)
    return m.group(1) if m else None


def instance_script(row: dict, spec: dict) -> str:
    from swebench.harness.constants import MAP_REPO_TO_INSTALL

    lines = ["set -euxo pipefail", "cd /testbed",
             "git config --global user.email setup@swebench.config", "git config --global user.name SWE-bench",
             "git config --global --add safe.directory /testbed"]
    if ERA_CAPS.get(row["repo"]):
        lines.append(f"export PIP_CONSTRAINT={ERA_FILE}")
    if row["repo"] in MAP_REPO_TO_INSTALL:
        lines.append(MAP_REPO_TO_INSTALL[row["repo"]])
    lines += list(spec.get("pre_install", []))
    if spec.get("install"):
        lines.append(spec["install"])
    env = tox_env(spec.get("test_cmd", ""))
    if env:
        # tox-current-env links .tox/ENV/bin/python to the venv's python, itself a link to the
        # system one; Python reached through that chain does not see the venv. Wrappers that exec
        # the venv's python keep it.
        lines.append(f"mkdir -p .tox/{env}/bin && for n in python python3 python3.9 python3.11; do "
                     f"printf '#!/bin/sh\\nexec /venv/bin/python \"$@\"\\n' > .tox/{env}/bin/$n; "
                     f"chmod +x .tox/{env}/bin/$n; done")
    lines.append("git commit --allow-empty -am SWE-bench")
    return "\n".join(lines) + "\n"


def eval_install(install: str) -> str | None:
    """The eval script reinstalls the project (a no-op for editable installs, which already serve
    the patched files); offline, a non-editable reinstall uses the venv's build tools."""
    if not install or " -e " in f" {install} ":
        return None
    return install.replace("pip install", "pip install --no-index --no-build-isolation --no-deps --force-reinstall", 1)


def eval_script(row: dict, spec: dict, directives: list[str], test_files: list[str]) -> str:
    base = row["base_commit"]
    reset = f"git checkout {base} {' '.join(test_files)}"
    lines = ["#!/bin/bash", "set -uxo pipefail", "cd /testbed", *spec.get("eval_commands", []),
             "git config --global --add safe.directory /testbed", "cd /testbed",
             "git status", "git show", f"git -c core.fileMode=false diff {base}"]
    if reinstall := eval_install(spec.get("install", "")):
        lines.append(reinstall)
    lines += [reset, f"git apply -v - <<'EOF_114329324912'\n{row['test_patch']}\nEOF_114329324912",
              f": '{START}'", " ".join([spec["test_cmd"], *directives]), f": '{END}'", reset]
    return "\n".join(lines) + "\n"


APPLY_CMDS = ["git apply --verbose", "git apply --verbose --reject", "patch --batch --fuzz=5 -p1 -i"]


def apply_line() -> str:
    tries = " || ".join(f"{{ {c} /patchwright/patch.diff && echo '>>>>> Applied Patch ({c})'; }}" for c in APPLY_CMDS)
    return f"{tries} || {{ echo '>>>>> Patch Apply Failed'; exit 97; }}"


# A patch touching these may add dependencies; the official eval script re-runs `install` with
# the network on, so such a patch is applied and installed in a networked layer first.
PACKAGING = re.compile(r"^diff --git a/(?:\S*/)?(?:setup\.py|setup\.cfg|pyproject\.toml|requirements[^/\s]*\.txt) ", re.M)


def reinstall_script(spec: dict, repo: str = "") -> str:
    install = spec.get("install") or "true"
    era = f"export PIP_CONSTRAINT={ERA_FILE}\n" if ERA_CAPS.get(repo) else ""
    return f"cd /testbed\n{era}{apply_line()}\n{install} || echo '>>>>> patchwright: reinstall failed'\n"


def runner_script(repo: str, apply_patch: bool) -> str:
    """Apply the prediction as the official harness does (its three commands in order), start any
    local service, then run the eval script; markers split the log into its two files."""
    lines = ["cd /testbed", "echo '>>>>> patchwright: apply'"]
    if apply_patch:
        lines.append(apply_line())
    else:
        lines.append("echo '>>>>> patchwright: no patch applied here (empty oracle, or applied with the reinstall)'")
    lines += service_lines(repo)
    lines += ["echo '>>>>> patchwright: eval'", "bash /patchwright/eval.sh 2>&1"]
    return "\n".join(lines) + "\n"


def service_lines(repo: str) -> list[str]:
    """Start the repository's local test service, if it has one (httpbin for early requests)."""
    if SERVICES.get(repo) != "httpbin":
        return []
    return ["if [ -x /opt/httpbin/bin/gunicorn ]; then",
            f"  /opt/httpbin/bin/gunicorn -b 127.0.0.1:{HTTPBIN_PORT} -w 2 httpbin:app >/tmp/httpbin.log 2>&1 &",
            f"  export HTTPBIN_URL=http://127.0.0.1:{HTTPBIN_PORT}/",
            f"  for i in $(seq 50); do python -c 'import socket; socket.create_connection((\"127.0.0.1\", {HTTPBIN_PORT}))' "
            "2>/dev/null && break; sleep 0.2; done", "fi"]
