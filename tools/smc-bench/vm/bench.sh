# vms: 2
# timeout: 1800
# The benchmark matrix of scripts/bench, run inside the VMs by vmrun (not a
# test: tests/vm does not hold it). Both VMs run it:
#   VM_ROLE=host   sets up every transport, starts one `smc-bench server`
#                  per transport, tells the guest which are ready (nc, port
#                  7001), and waits for the guest to finish (port 7000);
#   VM_ROLE=guest  sets up every transport, then for each point of the
#                  matrix runs `smc-bench client` against $PEER_IP and prints
#                  `SMCBENCH <json>` (scripts/bench reads those lines from
#                  the console log).
# With one VM (PEER_IP empty) the host runs servers and clients itself over
# 127.0.0.1.
#
# The matrix comes from /extra/bench.conf (written by scripts/bench):
#   BENCH_TRANSPORTS  transports (see "Transports" below), e.g. "tcp smc"
#   BENCH_PROFILES    smc-bench profiles, e.g. "rr1c-200x1000 str-readx30k"
#   BENCH_CONNS       connection counts, e.g. "1 10 50 250"
#   BENCH_SECS        measured seconds per point
#   BENCH_WARMUP      warm-up seconds per point
#   BENCH_UEID        the user EID the SMC-D transports set on both sides
#   BENCH_REPEAT      rounds of the whole matrix
# Points run interleaved (for each round, profile and count, every
# transport; in every other round in reverse order), so that a transport
# and its TCP baseline are measured close in time on a machine whose load
# may change, and neither always goes first.

[ -f /extra/bench.conf ] && . /extra/bench.conf
: "${BENCH_TRANSPORTS:=tcp smc}"
: "${BENCH_PROFILES:=rr1c-200x1000 str-readx30k}"
: "${BENCH_CONNS:=1 10 50 250}"
: "${BENCH_SECS:=5}"
: "${BENCH_WARMUP:=2}"
: "${BENCH_UEID:=SMC-RS-BENCH}"
: "${BENCH_REPEAT:=1}"
BIN=/extra/smc-bench
[ -x "$BIN" ] || BIN=$(command -v smc-bench)
PEER=${PEER_IP:-127.0.0.1}
say() { echo "bench[$VM_ROLE]: $*"; }

# Kernel messages on the console could split a result line.
dmesg -n 1 2>/dev/null

# ---------------------------------------------------------------------------
# Transports. Each has a family (smc-bench --family), a data port (its
# control port is the next one) and a setup function run on both sides
# before anything else; a transport whose setup fails on either side is
# skipped (and reported as such).

transport_family() {
	case "$1" in
	tcp) echo tcp ;;
	smc | smcd-ivshmem | smcd-lo) echo smc ;;
	smc-inet) echo inet-smc ;;
	*) return 1 ;;
	esac
}

transport_port() {
	case "$1" in
	tcp) echo 5000 ;;
	smc) echo 5010 ;;
	smc-inet) echo 5020 ;;
	smcd-ivshmem) echo 5030 ;;
	smcd-lo) echo 5040 ;;
	*) return 1 ;;
	esac
}

# HOOK (user EID): the C smc only proposes SMC-D v2 when a user EID is set
# (x86 has no system EID), and both peers need the same one. This uses the
# `smctest ueid add EID` subcommand of tests/guest where it exists, else
# smc-bench's own `ueid add` (the same generic netlink request,
# SMC_NETLINK_ADD_UEID). If neither works, the SMC-D transports fall back
# to TCP, which the results show ("data_over_tcp": true, "fallback").
set_ueid() {
	if command -v smctest >/dev/null && out=$(smctest ueid add "$BENCH_UEID" 2>&1); then
		say "user EID $BENCH_UEID set (smctest): $out"
	elif out=$("$BIN" ueid add "$BENCH_UEID" 2>&1); then
		say "user EID $BENCH_UEID set (smc-bench): $out"
	else
		say "cannot set user EID $BENCH_UEID: $out (SMC-D will fall back to TCP)"
	fi
	return 0
}

setup_tcp() { :; }

# The kernel's C smc: AF_SMC (family smc) or AF_INET/IPPROTO_SMC (smc-inet).
# Without an ISM device both peers reach it falls back to TCP.
setup_smc() { modprobe smc; }
setup_smc_inet() { modprobe smc; }

# HOOK (smcd-ivshmem): the C smc over the cross-VM ISM device on QEMU's
# ivshmem-doorbell (drivers/ism_ivshmem), with a user EID on both sides.
# Extend here once ism_ivshmem registers with the C smc (e.g. check that
# an SMC-D device showed up) and scripts/bench passes
# --transports tcp,smcd-ivshmem.
setup_smcd_ivshmem() {
	modprobe smc || return 1
	modprobe ism_ivshmem || return 1
	set_ueid
}

# The C smc over the kernel's dibs loopback device (CONFIG_DIBS_LO, built
# in): SMC-D within one VM, single-VM mode only; needs a user EID too.
setup_smcd_lo() {
	modprobe smc || return 1
	set_ueid
}

setup_transport() {
	fn=setup_$(echo "$1" | tr - _)
	if ! transport_family "$1" >/dev/null; then
		say "unknown transport $1"
		return 1
	fi
	"$fn"
}

ready=
for t in $BENCH_TRANSPORTS; do
	if setup_transport "$t" >/tmp/setup.out 2>&1; then
		ready="$ready $t"
		cat /tmp/setup.out
	else
		say "transport $t: setup failed:"
		sed 's/^/    /' /tmp/setup.out
		echo "SMCBENCH-SKIP $t setup failed on $VM_ROLE"
	fi
done
ready=${ready# }
say "transports ready here: ${ready:-none}"

start_servers() {
	for t in $ready; do
		"$BIN" server --family "$(transport_family "$t")" --port "$(transport_port "$t")" &
	done
}

stop_servers() {
	# Only the servers this script started (its background jobs).
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}

# One point: prints `SMCBENCH <json>` or `SMCBENCH-ERROR ...`, and a TEST
# line for vmrun's summary. $1 transport, $2 profile, $3 connections, $4
# round, $5 seconds to wait for the server.
run_point() {
	if out=$("$BIN" client --addr "$PEER" --port "$(transport_port "$1")" \
		--family "$(transport_family "$1")" --label "$1" --profile "$2" \
		--conns "$3" --secs "$BENCH_SECS" --warmup "$BENCH_WARMUP" \
		--wait "$5" --json 2>&1); then
		echo "SMCBENCH $out"
		echo "TEST bench-$1-$2-$3-r$4 PASS"
	else
		echo "SMCBENCH-ERROR $1 $2 $3: $(echo "$out" | tr '\n' ' ')"
		echo "TEST bench-$1-$2-$3-r$4 FAIL"
		return 1
	fi
}

# The matrix, run by the client side. $1: the transports both sides have.
run_matrix() {
	rev=
	for t in $1; do rev="$t $rev"; done
	rc=0
	wait_s=300 # the first point waits for the host's servers
	round=1
	while [ $round -le "$BENCH_REPEAT" ]; do
		order=$1
		[ $((round % 2)) -eq 0 ] && order=$rev
		for p in $BENCH_PROFILES; do
			for n in $BENCH_CONNS; do
				for t in $order; do
					run_point "$t" "$p" "$n" "$round" "$wait_s" || rc=1
					wait_s=30
				done
			done
		done
		round=$((round + 1))
	done
	return $rc
}

# ---------------------------------------------------------------------------

if [ -z "$PEER_IP" ]; then
	say "one VM: servers and clients over 127.0.0.1"
	start_servers
	run_matrix "$ready"
	rc=$?
	stop_servers
	exit $rc
fi

# Rendezvous over busybox nc, always from the connecting side to the
# listening one (the direction tests/vm/00-boot.sh uses): the host tells
# the guest (port 7001) which transports it has ready, the guest tells the
# host (port 7000) that it is done.
case "$VM_ROLE" in
host)
	start_servers
	i=0
	until echo "ready $ready" | nc -w 5 "$PEER_IP" 7001 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge 150 ]; then say "the guest never listened"; stop_servers; exit 1; fi
		sleep 2
	done
	msg=$(timeout 3000 nc -l -p 7000 </dev/null)
	[ "$msg" = guest-done ] && rc=0 || { say "no word from the guest"; rc=1; }
	stop_servers
	exit $rc
	;;
guest)
	line=$(timeout 300 nc -l -p 7001 </dev/null)
	case "$line" in
	ready*) peer_ready=${line#ready} ;;
	*) say "the host never said which transports are ready"; exit 1 ;;
	esac
	both=
	for t in $ready; do
		case " $peer_ready " in
		*" $t "*) both="$both $t" ;;
		*) echo "SMCBENCH-SKIP $t not ready on the host" ;;
		esac
	done
	say "running transports:$both"
	run_matrix "${both# }"
	rc=$?
	i=0
	until echo guest-done | nc -w 5 "$PEER_IP" 7000 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge 30 ]; then say "the host never listened for the end"; rc=1; break; fi
		sleep 2
	done
	exit $rc
	;;
esac
