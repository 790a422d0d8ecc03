#!/usr/bin/env python3
"""Checks the deployment files against the code, without Docker or systemd running.

    python3 Deploy/check.py [--fedtrace PATH] [--static-binary PATH]

- every `fedtrace COMMAND --option` written in Deploy/ and docs/operations.md exists in
  `fedtrace --help` and `fedtrace COMMAND --help`;
- Deploy/Dockerfile: COPY sources exist, the build stage's Swift image is the toolchain's
  version (`swift --version`), stage targets named by compose.yaml exist;
- Deploy/compose.yaml: services, volumes and dependencies are consistent (PyYAML, if present),
  and the `pki` and `init-*` commands really work: they are run here, with the volumes
  replaced by temporary directories, twice (the second run must be a no-op);
- the image's HEALTHCHECK command really tells a serving node from a stopped one;
- Deploy/systemd units: `systemd-analyze verify` (when available) and the hardening settings;
- with --static-binary (built as the image's build stage builds it): every library it needs
  is installed by the image's runtime stage, and no Swift runtime library is linked dynamically.

Exit status 0 when everything holds; each problem is printed on one line.
"""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEPLOY = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(DEPLOY)
problems = []
notes = []


def problem(text):
    problems.append(text)
    print("FAIL " + text)


def ok(text):
    print("ok   " + text)


def find_fedtrace(argv):
    if "--fedtrace" in argv:
        return os.path.abspath(argv[argv.index("--fedtrace") + 1])
    for candidate in (".build/release/fedtrace", ".build/debug/fedtrace"):
        path = os.path.join(REPO, candidate)
        if os.access(path, os.X_OK):
            return path
    sys.exit("check.py: no fedtrace binary (swift build, or --fedtrace PATH)")


FEDTRACE = find_fedtrace(sys.argv)


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


# --- the command line ---------------------------------------------------------------------

overview = run([FEDTRACE, "--help"]).stdout
COMMANDS = set()
for line in overview.split("\n"):
    m = re.match(r"^  ([a-z][a-z-]*(?: [a-z][a-z-]*)?)\s{2,}", line)
    if m:
        COMMANDS.add(m.group(1))
if "serve" not in COMMANDS or "init" not in COMMANDS:
    sys.exit("check.py: cannot read the command list from `fedtrace --help`")
_options = {}


def options_of(command):
    if command not in _options:
        text = run([FEDTRACE] + command.split() + ["--help"]).stdout
        _options[command] = set(re.findall(r"^  --([a-z][a-z0-9-]*)", text, re.M))
    return _options[command]


COMMAND_WORD = re.compile(r"^[a-z][a-z-]*$")


def check_invocation(tokens, where):
    """tokens: what follows `fedtrace` up to the end of the shell command."""
    tokens = [t.strip("'\"`,:;()") for t in tokens]
    tokens = [t for t in tokens if t]
    # `fedtrace` as a user or group name, a path, or prose: not an invocation.
    if not tokens or not COMMAND_WORD.match(tokens[0]) or tokens[0] == "fedtrace":
        return
    command = None
    if len(tokens) >= 2 and f"{tokens[0]} {tokens[1]}" in COMMANDS:
        command = f"{tokens[0]} {tokens[1]}"
    elif tokens[0] in COMMANDS:
        command = tokens[0]
    if command is None:
        # An unknown word is a broken invocation only when options follow it.
        if any(t.startswith("--") for t in tokens[1:]):
            problem(f"{where}: `fedtrace {tokens[0]}` is not a command in `fedtrace --help`")
        return
    known = options_of(command)
    for token in tokens[len(command.split()):]:
        if token.startswith("--"):
            name = token[2:].split("=", 1)[0]
            if name and name not in known:
                problem(f"{where}: `fedtrace {command}` has no option --{name}")
    checked.append(f"fedtrace {command}")


TERMINATORS = {"|", "||", "&&", ";", "&", ")", ">", "<", "2>", ">>", "#"}
INVOCATION = re.compile(r'(?:(?<=[\s/"(`\'=])|^)(?:fedtrace|\$\{?FEDTRACE\}?|"\$FEDTRACE")\s+(.*)')


def scan_text(text, where, comments=True):
    for number, line in enumerate(text.split("\n"), 1):
        if comments and line.lstrip().startswith("#"):
            continue
        for m in INVOCATION.finditer(line):
            rest = m.group(1)
            try:
                tokens = shlex.split(rest, comments=True, posix=True)
            except ValueError:
                tokens = rest.split()
            cut = []
            for token in tokens:
                if token in TERMINATORS or token.startswith(("|", ";", ">", "<", "&", ")")) or token.endswith(("`", ")", ";")):
                    if token.endswith(("`", ")", ";")) and token.rstrip("`);"):
                        cut.append(token.rstrip("`);"))
                    break
                cut.append(token)
            check_invocation(cut, f"{where}:{number}")


def code_of_markdown(text):
    """Fenced code blocks and inline `code` of a Markdown file, line numbers kept."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
            out.append("")
        elif fenced:
            out.append(line)
        else:
            out.append("   ".join(re.findall(r"`([^`]+)`", line)))
    return "\n".join(out)


checked = []
sources = {
    "Deploy/Dockerfile": None, "Deploy/compose.yaml": None, "Deploy/README.md": "md",
    "docs/operations.md": "md", "Deploy/netns/federation.sh": None, "Deploy/netns/selftest.sh": None,
}
for unit in sorted(os.listdir(os.path.join(DEPLOY, "systemd"))):
    sources[f"Deploy/systemd/{unit}"] = None
for relative, kind in sources.items():
    path = os.path.join(REPO, relative)
    if not os.path.exists(path):
        problem(f"{relative} is missing")
        continue
    text = open(path, encoding="utf-8").read()
    if kind == "md":
        scan_text(code_of_markdown(text), relative, comments=False)
    else:
        scan_text(text, relative)

# The image's default command: ENTRYPOINT ["fedtrace"] + CMD [...].
dockerfile = open(os.path.join(DEPLOY, "Dockerfile"), encoding="utf-8").read()
dockerfile = re.sub(r"\\\n\s*", " ", dockerfile)   # one line per instruction
entrypoints = re.findall(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.M)
cmds = re.findall(r"^CMD (\[.*\])$", dockerfile, re.M)
if not entrypoints or json.loads(entrypoints[-1]) != ["fedtrace"]:
    problem("Deploy/Dockerfile: the final stage's ENTRYPOINT is not [\"fedtrace\"]")
if cmds:
    check_invocation(json.loads(cmds[-1]), "Deploy/Dockerfile CMD")
ok(f"{len(checked)} fedtrace invocations checked against --help ({', '.join(sorted(set(checked)))})")

# --- Dockerfile ---------------------------------------------------------------------------

stages = re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.M)
for source in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", dockerfile, re.M):
    for item in source.split():
        if not os.path.exists(os.path.join(REPO, item)):
            problem(f"Deploy/Dockerfile: COPY source {item} does not exist in the repository")
for item in re.findall(r"^!(\S+?)/?$", open(os.path.join(DEPLOY, "Dockerfile.dockerignore")).read(), re.M):
    if not os.path.exists(os.path.join(REPO, item)):
        problem(f"Deploy/Dockerfile.dockerignore admits {item}, which does not exist")
swift_image = re.search(r"^ARG SWIFT_IMAGE=swift:(\d+\.\d+(?:\.\d+)?)-\S+$", dockerfile, re.M)
if shutil.which("swift"):
    version = re.search(r"Swift version (\d+\.\d+(?:\.\d+)?)", run(["swift", "--version"]).stdout + run(["swift", "--version"]).stderr)
    if not swift_image or not version:
        problem("Deploy/Dockerfile: no ARG SWIFT_IMAGE=swift:X.Y.Z-DISTRO, or no `swift --version`")
    elif swift_image.group(1) != version.group(1):
        problem(f"Deploy/Dockerfile: build image swift:{swift_image.group(1)} but the toolchain is {version.group(1)}")
    else:
        ok(f"Dockerfile build stage uses swift:{version.group(1)}, the toolchain's version")
if "--static-swift-stdlib" not in dockerfile:
    problem("Deploy/Dockerfile: the binary is not built with --static-swift-stdlib (the runtime image has no Swift libraries)")
if not re.search(r"^USER fedtrace$", dockerfile.split("AS node")[-1], re.M):
    problem("Deploy/Dockerfile: the node stage does not run as the fedtrace user")
ok(f"Dockerfile stages {', '.join(stages)}; COPY sources exist")

# --- compose.yaml -------------------------------------------------------------------------

compose_text = open(os.path.join(DEPLOY, "compose.yaml"), encoding="utf-8").read()
try:
    import yaml  # PyYAML: optional
except ImportError:
    yaml = None
    print("skip compose structure checks: PyYAML is not installed (apt-get install -y python3-yaml)")
compose = None
if yaml:
    compose = yaml.safe_load(compose_text)
    services = compose.get("services", {})
    volumes = set((compose.get("volumes") or {}).keys())
    networks = set((compose.get("networks") or {}).keys())
    for name, service in services.items():
        build = service.get("build")
        if build:
            if os.path.normpath(os.path.join(DEPLOY, build["context"])) != REPO:
                problem(f"compose.yaml: {name}: build context is not the repository root")
            if not os.path.exists(os.path.join(REPO, build["dockerfile"])):
                problem(f"compose.yaml: {name}: {build['dockerfile']} does not exist")
            if build.get("target") not in stages:
                problem(f"compose.yaml: {name}: target {build.get('target')} is not a Dockerfile stage")
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("/", ".")) and source not in volumes:
                problem(f"compose.yaml: {name}: volume {source} is not declared")
        for network in service.get("networks", []):
            if network not in networks:
                problem(f"compose.yaml: {name}: network {network} is not declared")
        for dependency in (service.get("depends_on") or {}):
            if dependency not in services:
                problem(f"compose.yaml: {name}: depends on unknown service {dependency}")
    for node in ("hub", "kz", "ua"):
        if node not in services:
            problem(f"compose.yaml: no {node} service")
        elif not any(v.endswith(":/var/lib/fedtrace") for v in services[node].get("volumes", [])):
            problem(f"compose.yaml: {node} has no data volume at /var/lib/fedtrace")
    data_volumes = [v.split(":")[0] for n in ("hub", "kz", "ua") if n in services for v in services[n].get("volumes", [])]
    if len(set(data_volumes)) != len(data_volumes):
        problem("compose.yaml: two nodes share a data volume")
    ok(f"compose.yaml: {len(services)} services, volumes {', '.join(sorted(volumes))}")

# The one-shot commands, run for real with the volumes mapped to temporary directories.
if compose:
    work = tempfile.mkdtemp(prefix="fedtrace-deploy-check-")
    try:
        pki, bin_dir = os.path.join(work, "pki"), os.path.join(work, "bin")
        os.makedirs(pki, mode=0o700)
        os.makedirs(bin_dir)
        os.symlink(FEDTRACE, os.path.join(bin_dir, "fedtrace"))
        environment = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))

        def mapped(text, data=None):
            text = text.replace("/opt/fedtrace/Certs/", os.path.join(REPO, "Certs") + "/").replace("/pki", pki)
            return text.replace("/var/lib/fedtrace", data) if data else text

        pki_service = compose["services"]["pki"]
        script = mapped(pki_service["command"][-1])
        for attempt in (1, 2):
            result = run(["bash", "-c", script], env=environment, cwd=work)
            if result.returncode != 0:
                problem(f"compose.yaml: pki command failed (run {attempt}): {(result.stderr or result.stdout).strip()[-300:]}")
                break
        else:
            ok("compose.yaml: the pki command issues the root, hub, KZ and UA folders, and a second run leaves them")
        for node in ("hub", "kz", "ua"):
            service = compose["services"][f"init-{node}"]
            data = os.path.join(work, f"{node}-data")
            os.makedirs(data, mode=0o700)   # a fresh named volume: an empty directory
            command = mapped(service["command"][-1], data)
            entry = service["entrypoint"]
            outputs = []
            for attempt in (1, 2):
                result = run(entry + [command], env=environment)
                outputs.append(result)
                if result.returncode != 0:
                    problem(f"compose.yaml: init-{node} failed (run {attempt}): {(result.stderr or result.stdout).strip()[-300:]}")
                    break
            else:
                status = run([FEDTRACE, "status", "--data", data, "--json"])
                config = json.load(open(os.path.join(data, "node.json")))
                if config.get("federationListen") != "0.0.0.0:9443" or not os.path.exists(os.path.join(data, "certs", "transport.key")):
                    problem(f"compose.yaml: init-{node} made a node without certificates or with federationListen {config.get('federationListen')}")
                elif status.returncode != 0:
                    problem(f"compose.yaml: fedtrace status on init-{node}'s node failed: {status.stderr.strip()}")
                else:
                    ok(f"compose.yaml: init-{node} makes {config['party']} ({config['role']}) with certificates; a second run is a no-op")
    finally:
        shutil.rmtree(work, ignore_errors=True)

# --- the HEALTHCHECK ----------------------------------------------------------------------

health = re.search(r"^HEALTHCHECK .*? CMD (\[.*\])$", dockerfile, re.M)
if not health:
    problem("Deploy/Dockerfile: no HEALTHCHECK")
else:
    probe = json.loads(health.group(1))
    work = tempfile.mkdtemp(prefix="fedtrace-health-check-")
    server = None
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        data = os.path.join(work, "node")
        run([FEDTRACE, "init", "--party", "KZ", "--data", data, "--api-listen", f"127.0.0.1:{port}"], check=True)
        probe = [part.replace("127.0.0.1/8443", f"127.0.0.1/{port}") for part in probe]
        down = run(probe, timeout=10).returncode
        server = subprocess.Popen([FEDTRACE, "serve", "--data", data], stderr=subprocess.PIPE, text=True)
        for _ in range(100):
            if run(probe, timeout=10).returncode == 0:
                break
            time.sleep(0.1)
        up = run(probe, timeout=10).returncode
        if down == 0 or up != 0:
            problem(f"HEALTHCHECK does not tell a serving node (exit {up}) from none (exit {down})")
        else:
            ok(f"HEALTHCHECK exits 0 against a serving node and {down} when nothing listens")
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=40)
        shutil.rmtree(work, ignore_errors=True)

# --- systemd units ------------------------------------------------------------------------

REQUIRED = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/fedtrace",
    "PrivateTmp": "yes", "CapabilityBoundingSet": "", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "MemoryDenyWriteExecute": "yes", "LimitNOFILE": None, "LimitCORE": "0", "UMask": "0077", "User": "fedtrace",
}
units = sorted(f for f in os.listdir(os.path.join(DEPLOY, "systemd")) if f.endswith(".service"))
for unit in units:
    text = open(os.path.join(DEPLOY, "systemd", unit)).read()
    settings = {}
    for line in text.split("\n"):
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            settings.setdefault(m.group(1), []).append(m.group(2))
    for key, value in REQUIRED.items():
        if key not in settings:
            problem(f"{unit}: no {key}=")
        elif value is not None and value not in settings[key]:
            problem(f"{unit}: {key}={settings[key]}, expected {value!r}")
    if "@system-service" not in " ".join(settings.get("SystemCallFilter", [])):
        problem(f"{unit}: SystemCallFilter does not start from @system-service")
    timeout = re.search(r"--shutdown-timeout (\d+)", " ".join(settings.get("ExecStart", [])))
    stop = settings.get("TimeoutStopSec", ["90"])[-1]
    if timeout and int(timeout.group(1)) >= int(stop):
        problem(f"{unit}: TimeoutStopSec={stop} does not leave time for --shutdown-timeout {timeout.group(1)}")
if shutil.which("systemd-analyze"):
    work = tempfile.mkdtemp(prefix="fedtrace-units-")
    try:
        for unit in units:
            text = open(os.path.join(DEPLOY, "systemd", unit)).read().replace("/usr/local/bin/fedtrace", FEDTRACE)
            # Documentation= points at the installed doc; verify would only complain that it is absent here.
            open(os.path.join(work, unit), "w").write(re.sub(r"^Documentation=.*\n", "", text, flags=re.M))
        result = run(["systemd-analyze", "verify", "--man=no"] + [os.path.join(work, u) for u in units])
        complaints = [line for line in (result.stdout + result.stderr).split("\n")
                      if line.strip() and "User=fedtrace" not in line and "not found" not in line.lower()]
        if result.returncode != 0 or complaints:
            problem("systemd-analyze verify: " + " | ".join(complaints or [f"exit {result.returncode}"]))
        else:
            ok(f"systemd-analyze verify: {', '.join(units)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
else:
    print("skip systemd-analyze verify: not installed")
ok(f"systemd units {', '.join(units)} carry the hardening settings")

# The image's runtime stage: a binary built as its build stage builds it
# (`swift build -c release --static-swift-stdlib`) needs only libraries that stage installs.
RUNTIME_PACKAGES = {
    "libssl.so.3": "libssl3", "libcrypto.so.3": "libssl3", "libsqlite3.so.0": "libsqlite3-0",
    "libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc-s1",
}
BASE_LIBC = ("libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so", "libutil.so", "ld-linux", "linux-vdso")
if "--static-binary" in sys.argv:
    binary = os.path.abspath(sys.argv[sys.argv.index("--static-binary") + 1])
    dockerfile = open(os.path.join(DEPLOY, "Dockerfile")).read()
    runtime = dockerfile.split("AS base", 1)[1].split("FROM ", 1)[0]
    needed = []
    before = len(problems)
    for line in run(["ldd", binary]).stdout.split("\n"):
        name = os.path.basename(line.strip().split(" ")[0])
        if not name:
            continue
        needed.append(name)
        if "not found" in line:
            problem(f"static binary: {name} not found")
        elif name.startswith(("libswift", "libFoundation", "libdispatch", "libBlocksRuntime", "lib_Foundation")):
            problem(f"static binary: links {name} dynamically; the runtime image has no Swift runtime")
        elif name in RUNTIME_PACKAGES:
            if RUNTIME_PACKAGES[name] not in runtime:
                problem(f"static binary: needs {name}, but the runtime stage does not install {RUNTIME_PACKAGES[name]}")
        elif not name.startswith(BASE_LIBC):
            problem(f"static binary: needs {name}, which the runtime stage does not provide")
    version = run([binary, "--version"])
    if version.returncode != 0:
        problem(f"static binary: --version exits {version.returncode}")
    if len(problems) == before:
        ok(f"static binary ({version.stdout.strip()}) needs only {', '.join(sorted(needed))}: all in the runtime stage")
else:
    print("skip the image's runtime libraries: give --static-binary PATH (swift build -c release --static-swift-stdlib)")

print(f"deploy check: {len(problems)} problem(s)" if problems else "deploy check: all good")
sys.exit(1 if problems else 0)
