"""Builds the Go client programs of compat-tests/go/ for the compat tests.

Each program is one main package, compat-tests/go/<name>/*.go, built with
Debian's Go in GOPATH mode against Debian's Go library packages
(/usr/share/gocode: sarama 1.22.1, kafka-go 0.2.1 and their dependencies).
No modules, no proxy, no network. The binary goes to
$EDDY_BUILD_DIR/compat-tests/go/<name>, and is rebuilt only when its sources,
the Go library packages or the Go toolchain change (a hash of them is kept
beside it).
"""

import hashlib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GOPATH_SYSTEM = "/usr/share/gocode"


def _go_version(go):
    return subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout.strip()


def _source_hash(src, go):
    h = hashlib.sha256(_go_version(go).encode())
    # The Debian library packages: an upgrade changes sizes and mtimes.
    for root, dirs, files in os.walk(os.path.join(GOPATH_SYSTEM, "src")):
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".go", ".c", ".h")):
                st = os.stat(os.path.join(root, f))
                h.update(("%s/%s %d %d\0" % (root, f, st.st_size, st.st_mtime_ns)).encode())
    for f in sorted(os.listdir(src)):
        if f.endswith(".go") and not f.endswith("_test.go"):
            h.update(f.encode() + b"\0")
            with open(os.path.join(src, f), "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def build(name):
    """Returns the path of the built program; exits the test with a message if it cannot."""
    go = "/usr/bin/go" if os.access("/usr/bin/go", os.X_OK) else "go"
    src = os.path.join(HERE, name)
    build_dir = os.environ.get("EDDY_BUILD_DIR") or os.path.join(HERE, "..", "..", "build")
    out_dir = os.path.join(os.path.abspath(build_dir), "compat-tests", "go")
    os.makedirs(out_dir, exist_ok=True)
    binary = os.path.join(out_dir, name)
    stamp_path = binary + ".stamp"
    try:
        digest = _source_hash(src, go)
    except (OSError, subprocess.CalledProcessError) as e:
        print("FAIL build %s: cannot run Go (%s); install golang-go (scripts/deps.sh test)" % (name, e))
        sys.exit(1)
    try:
        with open(stamp_path) as f:
            if f.read().strip() == digest and os.access(binary, os.X_OK):
                return binary
    except OSError:
        pass
    for pkg in ("github.com/Shopify/sarama", "github.com/segmentio/kafka-go"):
        if not os.path.isdir(os.path.join(GOPATH_SYSTEM, "src", pkg)):
            print("FAIL build %s: %s is not in %s; install golang-github-shopify-sarama-dev and "
                  "golang-github-segmentio-kafka-go-dev (scripts/deps.sh test)" % (name, pkg, GOPATH_SYSTEM))
            sys.exit(1)
    env = dict(os.environ)
    env.update({
        "GO111MODULE": "off",
        "GOPATH": os.path.join(out_dir, "gopath") + ":" + GOPATH_SYSTEM,
        "GOCACHE": os.path.join(out_dir, "gocache"),
        "GOFLAGS": "",
        "GOPROXY": "off",
        "GOENV": "off",
        # DataDog/zstd's cgo wrapper calls a zstd function marked deprecated.
        "CGO_CFLAGS": "-O2 -Wno-deprecated-declarations",
    })
    tmp = binary + ".tmp"
    proc = subprocess.run([go, "build", "-o", tmp, "."], cwd=src, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        print("FAIL build %s: go build exited %d:\n%s" % (name, proc.returncode, proc.stdout))
        sys.exit(1)
    os.replace(tmp, binary)
    with open(stamp_path, "w") as f:
        f.write(digest + "\n")
    print("built %s (%s)" % (binary, _go_version(go)))
    return binary


def run_steps(binary, common_args, steps, timeout=60):
    """Runs `binary common_args step` for each step, output to our stdout.

    Every step runs even when an earlier one failed (later ones say plainly
    when they miss what an earlier one should have left). Returns the names
    of the steps that failed.
    """
    failed = []
    for step in steps:
        args = [binary] + list(common_args) + [step]
        sys.stdout.flush()
        try:
            rc = subprocess.run(args, timeout=timeout, stdin=subprocess.DEVNULL).returncode
        except subprocess.TimeoutExpired:
            print("FAIL %s: step timed out after %d s" % (step, timeout))
            rc = -1
        if rc != 0:
            failed.append(step)
    return failed
