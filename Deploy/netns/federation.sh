#!/usr/bin/env bash
# A private federation on one machine: one network namespace per node, joined by a bridge
# that lives in a namespace of its own, on 10.77.0.0/24, optionally with netem delay and loss.
# Nothing is attached to the host's namespace, so no traffic leaves the namespaces.
#
# Usage (root; needs ip and tc from iproute2):
#   federation.sh up --state DIR NAME=DATADIR... [--prefix P] [--delay 100ms] [--jitter 10ms]
#                    [--loss 1%] [--rate 100mbit] [--fedtrace PATH] [--user USER] [--no-serve]
#   federation.sh down   --state DIR [--prefix P] [--timeout SECONDS]
#   federation.sh status --state DIR [--prefix P]
#   federation.sh exec   --state DIR [--prefix P] NAME COMMAND...
#
# up: for each NAME=DATADIR (in order) makes namespace P-NAME with eth0 = 10.77.0.(10+i)/24
# (the first node gets .10) and lo up, applies netem to eth0's egress when --delay, --loss or
# --rate is given, and runs `fedtrace serve --data DATADIR` inside it (log: DIR/NAME.log).
# Each DATADIR is a node made with `fedtrace init`; its federationListen must not be loopback
# (use --fed-listen 0.0.0.0:9443). Every namespace has its own loopback, so every node keeps
# its local API on 127.0.0.1:8443. DIR/hosts lists NAME and address.
# netem works on egress, so a request and its answer are each delayed once:
# --delay 100ms gives a 200 ms round trip; --loss 1% drops 1% of the packets each way.
# --rate (tbf) limits each node's sending rate; it works on kernels without netem.
# down: stops the servers (SIGTERM, then SIGKILL after --timeout, default 35 s) and deletes
# the namespaces, which deletes their links too. Safe to run twice, or after a failed up.
set -euo pipefail

PREFIX=ft
STATE=""
DELAY=""; JITTER=""; LOSS=""; RATE=""
FEDTRACE=fedtrace
RUN_AS=""
SERVE=1
TIMEOUT=35
NODES=()

die() { echo "federation.sh: $*" >&2; exit 1; }
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

[ $# -ge 1 ] || { usage >&2; exit 2; }
ACTION="$1"; shift
case "$ACTION" in -h|--help|help) usage; exit 0 ;; esac
EXEC_ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --state) STATE="$2"; shift 2 ;;
        --prefix) PREFIX="$2"; shift 2 ;;
        --delay) DELAY="$2"; shift 2 ;;
        --jitter) JITTER="$2"; shift 2 ;;
        --loss) LOSS="$2"; shift 2 ;;
        --rate) RATE="$2"; shift 2 ;;
        --fedtrace) FEDTRACE="$2"; shift 2 ;;
        --user) RUN_AS="$2"; shift 2 ;;
        --no-serve) SERVE=0; shift ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; EXEC_ARGS+=("$@"); break ;;
        -*) die "unknown option $1" ;;
        *) if [ "$ACTION" = exec ]; then EXEC_ARGS+=("$@"); break; fi
           NODES+=("$1"); shift ;;
    esac
done
[ -n "$STATE" ] || die "--state DIR is required"
[[ "$PREFIX" =~ ^[a-z][a-z0-9]{0,5}$ ]] || die "--prefix must be 1-6 lowercase letters or digits, starting with a letter"
[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
command -v ip >/dev/null || die "ip not found (apt-get install -y iproute2)"

BRIDGE_NS="$PREFIX-br"
ns() { echo "$PREFIX-$1"; }

# Names of the nodes this state directory knows, from DIR/hosts ("NAME ADDRESS DATADIR").
known_nodes() { [ -f "$STATE/hosts" ] && awk '!/^#/ {print $1}' "$STATE/hosts" || true; }

# netem's part of the link: delay (and jitter) and loss, applied on egress.
netem_args() {
    local args=()
    if [ -n "$DELAY" ]; then args+=(delay "$DELAY"); [ -n "$JITTER" ] && args+=("$JITTER"); fi
    [ -n "$LOSS" ] && args+=(loss "$LOSS")
    # Room for a long fat pipe's bandwidth-delay product (netem's default is 1,000 packets).
    [ ${#args[@]} -gt 0 ] && args+=(limit 100000)
    echo "${args[@]}"
}

# The link's shaping, as the tc commands for eth0: netem at the root when there is delay or
# loss, and tbf for --rate (under netem, or alone: tbf does not need the netem module).
shape() {
    local namespace="$1" netem; netem="$(netem_args)"
    if [ -n "$netem" ]; then
        # shellcheck disable=SC2086
        ip netns exec "$namespace" tc qdisc add dev eth0 root handle 1: netem $netem
        [ -z "$RATE" ] || ip netns exec "$namespace" tc qdisc add dev eth0 parent 1:1 handle 10: tbf rate "$RATE" burst 64kb latency 1s
    elif [ -n "$RATE" ]; then
        ip netns exec "$namespace" tc qdisc add dev eth0 root handle 1: tbf rate "$RATE" burst 64kb latency 1s
    fi
}

describe_link() {
    local parts=()
    [ -n "$(netem_args)" ] && parts+=("netem $(netem_args)")
    [ -n "$RATE" ] && parts+=("tbf rate $RATE")
    [ ${#parts[@]} -gt 0 ] && echo ", ${parts[*]} on each node's egress"
    return 0
}

up() {
    [ ${#NODES[@]} -ge 1 ] || die "up needs at least one NAME=DATADIR"
    [ ${#NODES[@]} -le 200 ] || die "at most 200 nodes (10.77.0.10-209)"
    if [ -n "$DELAY$JITTER$LOSS$RATE" ]; then command -v tc >/dev/null || die "tc not found (apt-get install -y iproute2)"; fi
    if [ "$SERVE" = 1 ]; then
        command -v "$FEDTRACE" >/dev/null || [ -x "$FEDTRACE" ] || die "fedtrace binary '$FEDTRACE' not found (use --fedtrace PATH)"
        FEDTRACE="$(command -v "$FEDTRACE" || echo "$FEDTRACE")"
        case "$FEDTRACE" in /*) ;; *) FEDTRACE="$(pwd)/$FEDTRACE" ;; esac
    fi
    ip netns list | grep -q "^$BRIDGE_NS\b" && die "namespace $BRIDGE_NS exists: run 'federation.sh down --state $STATE --prefix $PREFIX' first"
    mkdir -p "$STATE"
    STATE="$(cd "$STATE" && pwd)"
    # A failed up leaves nothing behind: whatever was made is torn down again.
    trap 'rc=$?; if [ $rc -ne 0 ]; then echo "federation.sh: up failed; tearing down what was made" >&2; down >&2; fi; exit $rc' EXIT
    echo "# NAME ADDRESS DATADIR (written by federation.sh up)" > "$STATE/hosts"

    # The bridge gets a namespace of its own and no address: a pure layer-2 switch.
    ip netns add "$BRIDGE_NS"
    ip -n "$BRIDGE_NS" link set lo up
    ip -n "$BRIDGE_NS" link add br0 type bridge
    ip -n "$BRIDGE_NS" link set br0 up
    if [ -n "$(netem_args)" ] && ! ip netns exec "$BRIDGE_NS" tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
        die "this kernel has no netem queueing discipline (CONFIG_NET_SCH_NETEM, module sch_netem): --delay, --jitter and --loss need it; --rate alone uses tbf"
    fi
    ip netns exec "$BRIDGE_NS" tc qdisc del dev lo root 2>/dev/null || true

    local index=0 spec name data address
    for spec in "${NODES[@]}"; do
        name="${spec%%=*}"; data="${spec#*=}"
        [[ "$spec" == *=* ]] || die "'$spec' is not NAME=DATADIR"
        [[ "$name" =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "node name '$name' must be 1-8 lowercase letters or digits, starting with a letter"
        if [ "$SERVE" = 1 ]; then
            [ -f "$data/node.json" ] || die "$data/node.json not found: make the node with 'fedtrace init' first"
            grep -Eq '"federationListen":"(127\.|localhost|\[::1\]|::1)' "$data/node.json" \
                && echo "federation.sh: warning: $name's federationListen is loopback; other namespaces cannot reach it" >&2
            data="$(cd "$data" && pwd)"
        fi
        [ "$name" != br ] || die "node name 'br' is taken by the bridge's namespace"
        address="10.77.0.$((10 + index))"
        ip netns add "$(ns "$name")"
        echo "$name $address $data" >> "$STATE/hosts"   # recorded at once, so down finds it even if up fails next
        ip -n "$(ns "$name")" link set lo up
        # One veth pair: v-NAME on the bridge, eth0 in the node's namespace.
        ip -n "$BRIDGE_NS" link add "v-$name" type veth peer name eth0 netns "$(ns "$name")"
        ip -n "$BRIDGE_NS" link set "v-$name" master br0 up
        ip -n "$(ns "$name")" addr add "$address/24" dev eth0
        ip -n "$(ns "$name")" link set eth0 up
        shape "$(ns "$name")"
        index=$((index + 1))
    done

    [ "$SERVE" = 1 ] || { trap - EXIT; status; return; }
    for spec in "${NODES[@]}"; do
        name="${spec%%=*}"
        data="$(awk -v n="$name" '$1 == n {print $3}' "$STATE/hosts")"
        local command=("$FEDTRACE" serve --data "$data")
        if [ -n "$RUN_AS" ]; then command=(setpriv --reuid="$(id -u "$RUN_AS")" --regid="$(id -g "$RUN_AS")" --init-groups -- "${command[@]}"); fi
        # setsid: the server gets its own session, so it outlives this script and no terminal signal reaches it.
        setsid ip netns exec "$(ns "$name")" "${command[@]}" < /dev/null > "$STATE/$name.log" 2>&1 &
        echo $! > "$STATE/$name.pid"
    done
    # Ready when each server has logged its listeners, or failed.
    local waited=0 ready
    while :; do
        ready=0
        for spec in "${NODES[@]}"; do
            name="${spec%%=*}"
            grep -q "serving from" "$STATE/$name.log" 2>/dev/null && ready=$((ready + 1))
            if ! kill -0 "$(cat "$STATE/$name.pid")" 2>/dev/null; then
                cat "$STATE/$name.log" >&2
                die "fedtrace serve for $name exited (log above)"
            fi
        done
        [ "$ready" -eq ${#NODES[@]} ] && break
        [ "$waited" -ge 300 ] && die "the servers did not start within 30 s (logs: $STATE/*.log)"
        sleep 0.1; waited=$((waited + 1))
    done
    trap - EXIT
    status
}

status() {
    local name address data pid state
    echo "federation $PREFIX: bridge namespace $BRIDGE_NS, 10.77.0.0/24$(describe_link)"
    while read -r name address data; do
        case "$name" in '#'*|'') continue ;; esac
        state="no server"
        if [ -f "$STATE/$name.pid" ]; then
            pid="$(cat "$STATE/$name.pid")"
            if kill -0 "$pid" 2>/dev/null; then state="serving (pid $pid, log $STATE/$name.log)"; else state="server exited (log $STATE/$name.log)"; fi
        fi
        ip netns list | grep -q "^$(ns "$name")\b" || state="namespace missing"
        echo "  $name  $(ns "$name")  $address  $data  $state"
    done < "$STATE/hosts"
}

# Whether a process is running (a zombie, exited but not yet reaped, is not).
running() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

down() {
    local name pid pids waited
    # Servers first, gracefully: SIGTERM lets in-flight requests finish and commits.
    for name in $(known_nodes); do
        [ -f "$STATE/$name.pid" ] || continue
        pid="$(cat "$STATE/$name.pid")"
        kill -TERM "$pid" 2>/dev/null || true
    done
    # Anything else still running inside a namespace of ours (it was started there by us).
    for name in $(known_nodes); do
        ip netns list | grep -q "^$(ns "$name")\b" || continue
        pids="$(ip netns pids "$(ns "$name")" 2>/dev/null || true)"
        [ -n "$pids" ] && kill -TERM $pids 2>/dev/null || true
    done
    waited=0
    while :; do
        pids=""
        for name in $(known_nodes); do
            ip netns list | grep -q "^$(ns "$name")\b" && pids="$pids $(ip netns pids "$(ns "$name")" 2>/dev/null || true)"
        done
        # The servers themselves too: a process leaves its namespace's list before it is gone.
        for name in $(known_nodes); do
            [ -f "$STATE/$name.pid" ] && running "$(cat "$STATE/$name.pid")" && pids="$pids $(cat "$STATE/$name.pid")"
        done
        pids="$(echo $pids)"
        [ -z "$pids" ] && break
        if [ "$waited" -ge $((TIMEOUT * 10)) ]; then
            echo "federation.sh: still running after ${TIMEOUT} s, killing: $pids" >&2
            kill -KILL $pids 2>/dev/null || true
            sleep 0.2
            break
        fi
        sleep 0.1; waited=$((waited + 1))
    done
    # Deleting a namespace deletes its end of each veth pair, and with it the other end.
    for name in $(known_nodes); do
        ip netns list | grep -q "^$(ns "$name")\b" && ip netns del "$(ns "$name")"
        rm -f "$STATE/$name.pid"
    done
    ip netns list | grep -q "^$BRIDGE_NS\b" && ip netns del "$BRIDGE_NS"
    echo "federation $PREFIX is down (logs kept in $STATE)"
}

run_in() {
    [ ${#EXEC_ARGS[@]} -ge 2 ] || die "exec needs NAME COMMAND..."
    local name="${EXEC_ARGS[0]}"
    ip netns list | grep -q "^$(ns "$name")\b" || die "no namespace $(ns "$name")"
    exec ip netns exec "$(ns "$name")" "${EXEC_ARGS[@]:1}"
}

case "$ACTION" in
    up) up ;;
    down) down ;;
    status) status ;;
    exec) run_in ;;
    *) usage >&2; exit 2 ;;
esac
