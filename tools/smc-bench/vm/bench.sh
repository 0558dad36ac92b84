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
# Phases. The kernel's C smc and our smc_rs both own AF_SMC and cannot be
# loaded together, so a matrix with transports of both (e.g. smc and
# smc-rs) runs in phases within the same boot, one per AF_SMC module, as
# scripts/bench lists them in BENCH_PHASES ("NAME=t1,t2 NAME=t3,t4"; tcp is
# in every phase, so that each SMC transport has a TCP baseline measured
# close in time). Each phase is the whole sequence above: both VMs unload
# the other module and load theirs (set-up), the host starts that phase's
# servers and sends "ready PHASE ..." (port 7001), the guest runs the
# phase's points and sends "guest-done PHASE" (port 7000), the host stops
# the servers, and both unload the phase's module. With more than one
# phase every JSON line gets "phase": NAME. Without BENCH_PHASES there is
# one phase with every transport (as before phases existed).
#
# The matrix comes from /extra/bench.conf (written by scripts/bench):
#   BENCH_TRANSPORTS  transports (see "Transports" below), e.g. "tcp smc"
#   BENCH_PROFILES    smc-bench profiles, e.g. "rr1c-200x1000 str-readx30k"
#   BENCH_CONNS       connection counts, e.g. "1 10 50 250"
#   BENCH_SECS        measured seconds per point
#   BENCH_WARMUP      warm-up seconds per point
#   BENCH_UEID        the user EID the SMC-D transports set on both sides
#   BENCH_REPEAT      rounds of the whole matrix (of each pass of a phase)
#   BENCH_PHASES      the phases (see above); empty: one phase. A phase
#                     named again is another pass of it, whose rounds are
#                     numbered after those of its earlier passes (scripts/
#                     bench alternates the phases this way, one round a
#                     pass, so that both modules are measured close in time)
# Points run interleaved (for each round, profile and count, every
# transport of the phase; in every other round in reverse order), so that
# a transport and its TCP baseline are measured close in time on a machine
# whose load may change, and neither always goes first.
#
# For the SMC transports the client side also takes the C smc's own
# statistics (`smctest stats`) around every point and adds their
# differences to its JSON line (see run_point): how many connections it
# counted as SMC-D, how many fell back and why, and the bytes it moved
# over SMC-D. With smcd-ivshmem, the link groups' CHID is checked against
# the fabric ID of our ism_ivshmem device.

[ -f /extra/bench.conf ] && . /extra/bench.conf
: "${BENCH_TRANSPORTS:=tcp smc}"
: "${BENCH_PROFILES:=rr1c-200x1000 str-readx30k}"
: "${BENCH_CONNS:=1 10 50 250}"
: "${BENCH_SECS:=5}"
: "${BENCH_WARMUP:=2}"
: "${BENCH_UEID:=SMC-RS-BENCH}"
: "${BENCH_REPEAT:=1}"
: "${BENCH_PHASES:=all=$(echo $BENCH_TRANSPORTS | tr ' ' ,)}"
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
	smc | smcd-ivshmem | smcd-lo | smc-rs | smcd-rs-ivshmem | smcd-rs-lo) echo smc ;;
	smc-inet) echo inet-smc ;;
	*) return 1 ;;
	esac
}

# The AF_SMC module a transport needs: none, smc (the C one) or smc_rs.
transport_module() {
	case "$1" in
	tcp) echo none ;;
	smc | smc-inet | smcd-ivshmem | smcd-lo) echo smc ;;
	smc-rs | smcd-rs-ivshmem | smcd-rs-lo) echo smc_rs ;;
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
	smc-rs) echo 5050 ;;
	smcd-rs-ivshmem) echo 5060 ;;
	smcd-rs-lo) echo 5070 ;;
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
	if command -v smctest >/dev/null && smctest ueid list 2>/dev/null | grep -qx "ueid $BENCH_UEID"; then
		say "user EID $BENCH_UEID already set"
	elif command -v smctest >/dev/null && out=$(smctest ueid add "$BENCH_UEID" 2>&1); then
		say "user EID $BENCH_UEID set (smctest): $out"
	elif out=$("$BIN" ueid add "$BENCH_UEID" 2>&1); then
		say "user EID $BENCH_UEID set (smc-bench): $out"
	else
		say "cannot set user EID $BENCH_UEID: $out (SMC-D will fall back to TCP)"
	fi
	return 0
}

setup_tcp() { :; }

loaded() { grep -q "^$1 " /proc/modules; }

# Unloads an AF_SMC module (smc or smc_rs) if it is loaded; its sockets may
# take a moment to go after their servers were killed, so it retries for
# up to 30 s.
unload_module() {
	loaded "$1" || return 0
	i=0
	while :; do
		case "$1" in
		smc) modprobe -r smc_diag smc 2>/dev/null ;;
		*) rmmod "$1" 2>/dev/null ;;
		esac
		loaded "$1" || { say "unloaded $1"; return 0; }
		i=$((i + 1))
		[ $i -ge 30 ] && { say "cannot unload $1"; return 1; }
		sleep 1
	done
}

# The kernel's C smc: AF_SMC (family smc) or AF_INET/IPPROTO_SMC (smc-inet).
# Without an ISM device both peers reach it falls back to TCP. (smc_rs,
# loaded by an earlier phase, goes first.)
setup_smc() { unload_module smc_rs && modprobe smc; }
setup_smc_inet() { setup_smc; }

# smc-rs: AF_SMC sockets of our Rust module smc_rs (net/smc/), which runs
# every connection over its internal TCP socket after a CLC handshake that
# ends in a decline (it offers no SMC-D device yet):
# its fallback path. The C smc, loaded by an earlier phase, goes first.
# (No AF_SMC socket may be made before smc_rs is loaded: with no module
# owning AF_SMC, socket() would autoload the C smc.)
setup_smc_rs() {
	unload_module smc || return 1
	modprobe smc_rs || return 1
	grep -q '^SMC-RS ' /proc/net/protocols || { echo "smc_rs loaded, but no SMC-RS in /proc/net/protocols"; return 1; }
}

# smcd-rs-ivshmem / smcd-rs-lo: smc_rs's SMC-D, between the two VMs over
# ism_ivshmem / in one VM over the dibs loopback device, with the user EID
# (set through smc_rs's SMC_GEN_NETLINK family, as for the C smc).
setup_smcd_rs_ivshmem() {
	setup_smc_rs || return 1
	modprobe ism_ivshmem || return 1
	set_ueid
}
setup_smcd_rs_lo() {
	setup_smc_rs || return 1
	set_ueid
}

# smcd-ivshmem: the C smc's SMC-D between the two VMs over our DIBS device
# on QEMU's ivshmem-doorbell (drivers/ism_ivshmem, see
# Documentation/ism-ivshmem.md), with the same user EID on both sides. The
# set-up fails (and the transport is skipped) unless the device registered
# as a DIBS device on a fabric other than the dibs loopback device's
# (0xffff) and the C smc lists it as an SMC-D device. The fabric ID goes
# to the guest with the host's "ready" message; the guest checks that both
# VMs are on the same fabric, and after every point that the C smc's link
# groups are on it.
fabric= # our fabric ID (0x....), set here
setup_smcd_ivshmem() {
	command -v smctest >/dev/null || { echo "no smctest (tests/guest) in the VM"; return 1; }
	setup_smc || return 1
	modprobe ism_ivshmem || return 1
	pci=
	for d in /sys/bus/pci/drivers/ism_ivshmem/0000:* /sys/kernel/debug/ism_ivshmem/*; do
		[ -e "$d" ] || continue
		[ -e "/sys/class/dibs/${d##*/}/fabric_id" ] && { pci=${d##*/}; break; }
	done
	[ -n "$pci" ] || { echo "ism_ivshmem loaded, but no DIBS device of it in /sys/class/dibs"; return 1; }
	fabric=$(cat "/sys/class/dibs/$pci/fabric_id")
	case "$fabric" in
	0x[0-9a-fA-F]*) ;;
	*) echo "$pci: odd fabric_id '$fabric'"; return 1 ;;
	esac
	[ "$fabric" != 0xffff ] || { echo "$pci: fabric 0xffff is the loopback device's"; return 1; }
	set_ueid
	smctest devices >/tmp/smcd-devs 2>&1
	if ! grep -q "pci_id=$pci" /tmp/smcd-devs; then
		echo "the C smc does not list $pci as an SMC-D device:"
		cat /tmp/smcd-devs
		return 1
	fi
	say "smcd-ivshmem: DIBS device $pci, fabric $fabric, gid $(cat "/sys/class/dibs/$pci/gid")"
	grep "pci_id=$pci" /tmp/smcd-devs
	cat "/sys/kernel/debug/ism_ivshmem/$pci/fabric" 2>/dev/null
	return 0
}

# The C smc over the kernel's dibs loopback device (CONFIG_DIBS_LO, built
# in): SMC-D within one VM, single-VM mode only; needs a user EID too.
setup_smcd_lo() {
	setup_smc || return 1
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

# Sets up the transports $1 (space-separated) of a phase; $ready: those
# whose set-up worked.
setup_phase() {
	ready=
	for t in $1; do
		# (not in a subshell: setup_smcd_ivshmem sets $fabric)
		if setup_transport "$t" >/tmp/setup.out 2>&1; then
			ready="$ready $t"
			cat /tmp/setup.out
		else
			say "transport $t: setup failed:"
			sed 's/^/    /' /tmp/setup.out
			echo "SMCBENCH-SKIP $t setup failed on $VM_ROLE${multi:+ (phase $phase)}"
		fi
	done
	ready=${ready# }
	say "transports ready here${multi:+ (phase $phase)}: ${ready:-none}"
}

# The end of a phase: its AF_SMC module goes, when another phase follows
# (the next phase's set-up would unload it anyway; this names a failure).
end_phase() {
	[ -n "$multi" ] || return 0
	for t in $1; do
		m=$(transport_module "$t")
		[ "$m" = none ] || unload_module "$m"
	done
}

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

# The C smc's statistics around a point of an SMC transport (client side;
# needs smctest from tests/guest). smc_stats_before snapshots them;
# smc_stats_json prints the differences as JSON fields (with a leading
# comma), counting everything from connection set-up to close:
#   smc_smcd_conns    connections the C smc made SMC-D (v1 + v2 successes)
#   smc_fallbacks     connections that fell back to TCP (fback_clnt_cnt)
#   smc_fback_reasons the fallback reasons, "0xCODE NAME COUNT; ..."
#   smcd_bytes        payload bytes over SMC-D (rx + tx)
#   smcd_rmb_alloc, smcd_rmb_reuse, smcd_rmb_dgrade
#                     receive buffers (DMBs) newly allocated, reused from
#                     the link group, and allocated smaller than asked for
#   smcd_lgr_chids    the CHIDs of the SMC-D link groups after the point
#   smcd_on_fabric    (smcd-ivshmem) every link group is on our fabric
smc_stats_before() {
	[ -n "$SMCTEST" ] && smctest stats --all >/tmp/smcst0 2>/dev/null
}
smc_stats_json() {
	[ -n "$SMCTEST" ] && [ -s /tmp/smcst0 ] || return 0
	smctest stats --all --since /tmp/smcst0 >/tmp/smcst1 2>/dev/null || return 0
	smctest linkgroups >/tmp/smclg 2>/dev/null
	chids=$(sed -n 's/^smcd_lgr .* chid=\(0x[0-9a-f]*\) .*/\1/p' /tmp/smclg | sort -u | tr '\n' ' ')
	chids=${chids% }
	# (%.0f, not %d: busybox awk's %d stops at 2^31 - 1)
	awk -v chids="$chids" -v fabric="$fabric" -v iv="$1" '
		$1 ~ /^fback_clnt$/ && $2 ~ /^0x/ && $3 > 0 {
			rs = rs (rs == "" ? "" : "; ") $2 " " $4 " " $3; next }
		{ v[$1] = $2 }
		END {
			printf ",\"smc_smcd_conns\":%.0f,\"smc_fallbacks\":%.0f,\"smc_fback_reasons\":\"%s\"", \
				v["smcd_clnt_v1_succ"] + v["smcd_clnt_v2_succ"], v["fback_clnt_cnt"], rs
			printf ",\"smcd_bytes\":%.0f,\"smcd_rmb_alloc\":%.0f,\"smcd_rmb_reuse\":%.0f,\"smcd_rmb_dgrade\":%.0f", \
				v["smcd_rx_bytes"] + v["smcd_tx_bytes"], v["smcd_rx_rmb_alloc_cnt"], \
				v["smcd_rx_rmb_reuse_cnt"], v["smcd_rx_rmb_dgrade_cnt"]
			printf ",\"smcd_lgr_chids\":\"%s\"", chids
			if (iv == "smcd-ivshmem")
				printf ",\"smcd_fabric\":\"%s\",\"smcd_on_fabric\":%s", fabric, \
					(chids == fabric ? "true" : "false")
		}' /tmp/smcst1
}
SMCTEST=$(command -v smctest)

# One point: prints `SMCBENCH <json>` or `SMCBENCH-ERROR ...`, and a TEST
# line for vmrun's summary. $1 transport, $2 profile, $3 connections, $4
# round, $5 seconds to wait for the server. The C smc's counters only for
# the C smc's transports: with smc_rs loaded, smctest's generic netlink
# request for the C smc's family would autoload the C smc.
run_point() {
	cstats=
	[ "$(transport_module "$1")" = smc ] && cstats=1
	[ -n "$cstats" ] && smc_stats_before
	tag=$1-$2-$3-r$4
	[ -n "$multi" ] && [ "$1" = tcp ] && tag=$1-$phase-$2-$3-r$4
	if out=$("$BIN" client --addr "$PEER" --port "$(transport_port "$1")" \
		--family "$(transport_family "$1")" --label "$1" --profile "$2" \
		--conns "$3" --secs "$BENCH_SECS" --warmup "$BENCH_WARMUP" \
		--wait "$5" --json 2>&1); then
		case "$out" in
		*\}) [ -n "$cstats" ] && out="${out%\}}$(smc_stats_json "$1")}"
			[ -n "$multi" ] && out="${out%\}},\"phase\":\"$phase\"}" ;;
		esac
		rm -f /tmp/smcst0
		echo "SMCBENCH $out"
		echo "TEST bench-$tag PASS"
	else
		echo "SMCBENCH-ERROR $1 $2 $3${multi:+ (phase $phase)}: $(echo "$out" | tr '\n' ' ')"
		echo "TEST bench-$tag FAIL"
		return 1
	fi
}

# The matrix, run by the client side. $1: the transports both sides have;
# $2: the number of its first round (default 1).
run_matrix() {
	rev=
	for t in $1; do rev="$t $rev"; done
	rc=0
	wait_s=300 # the first point waits for the host's servers
	round=${2:-1}
	last=$((round + BENCH_REPEAT - 1))
	while [ $round -le $last ]; do
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

# The phases: "NAME=t1,t2 ..." (see the top). $multi: more than one.
set -- $BENCH_PHASES
multi=
[ $# -gt 1 ] && multi=1
phase_transports() { echo "${1#*=}" | tr , ' '; }
# Sets $first: the first round of this pass of phase $1 (numbered after the
# rounds of its earlier passes).
first_round() {
	eval "passes_$1=\$((\${passes_$1:-0} + 1)); first=\$(((passes_$1 - 1) * BENCH_REPEAT + 1))"
}

# The host's (server side's) view of a phase with the C smc, before its
# module goes (host.log).
server_stats() {
	[ -n "$SMCTEST" ] && loaded smc || return 0
	say "C smc statistics of the server side, ${multi:+phase $phase, }whole run:"
	smctest stats 2>&1 | sed 's/^/    /'
	smctest linkgroups 2>&1 | sed 's/^/    /'
	for f in /sys/kernel/debug/ism_ivshmem/*/fabric; do
		[ -e "$f" ] && sed 's/^/    /' "$f"
	done
}

if [ -z "$PEER_IP" ]; then
	say "one VM: servers and clients over 127.0.0.1"
	status=0
	for ph in $BENCH_PHASES; do
		phase=${ph%%=*}
		[ -n "$multi" ] && say "phase $phase"
		setup_phase "$(phase_transports "$ph")"
		start_servers
		first_round "$phase"
		run_matrix "$ready" "$first" || status=1
		stop_servers
		end_phase "$ready" || status=1
	done
	exit $status
fi

# Rendezvous over busybox nc, always from the connecting side to the
# listening one (the direction tests/vm/00-boot.sh uses), once per phase:
# the host tells the guest (port 7001) which transports it has ready, the
# guest tells the host (port 7000) that it is done. Both messages name the
# phase, so that neither side goes on with the wrong one.
case "$VM_ROLE" in
host)
	status=0
	for ph in $BENCH_PHASES; do
		phase=${ph%%=*}
		[ -n "$multi" ] && say "phase $phase"
		setup_phase "$(phase_transports "$ph")"
		start_servers
		i=0
		until echo "ready $phase $ready${fabric:+ fabric=$fabric}" | nc -w 5 "$PEER_IP" 7001 2>/dev/null; do
			i=$((i + 1))
			if [ $i -ge 150 ]; then say "the guest never listened"; stop_servers; exit 1; fi
			sleep 2
		done
		msg=$(timeout 3000 nc -l -p 7000 </dev/null)
		stop_servers
		server_stats
		end_phase "$ready" || status=1
		if [ "$msg" != "guest-done $phase" ]; then
			say "no word from the guest (phase $phase): '$msg'"
			exit 1
		fi
	done
	exit $status
	;;
guest)
	status=0
	for ph in $BENCH_PHASES; do
		phase=${ph%%=*}
		[ -n "$multi" ] && say "phase $phase"
		setup_phase "$(phase_transports "$ph")"
		line=$(timeout 300 nc -l -p 7001 </dev/null)
		case "$line" in
		"ready $phase"|"ready $phase "*) peer_ready=${line#ready $phase} ;;
		*) say "the host never said which transports are ready (phase $phase): '$line'"; exit 1 ;;
		esac
		peer_fabric=$(echo "$peer_ready" | tr ' ' '\n' | sed -n 's/^fabric=//p')
		both=
		for t in $ready; do
			case " $peer_ready " in
			*" $t "*)
				if [ "$t" = smcd-ivshmem ] && [ "$peer_fabric" != "$fabric" ]; then
					echo "SMCBENCH-SKIP $t the host is on fabric '$peer_fabric', the guest on '$fabric'"
					continue
				fi
				both="$both $t"
				;;
			*) echo "SMCBENCH-SKIP $t not ready on the host${multi:+ (phase $phase)}" ;;
			esac
		done
		[ -n "$fabric" ] && say "both VMs on fabric $fabric"
		say "running transports${multi:+ (phase $phase)}:$both"
		first_round "$phase"
		run_matrix "${both# }" "$first" || status=1
		end_phase "$ready" || status=1
		i=0
		until echo "guest-done $phase" | nc -w 5 "$PEER_IP" 7000 2>/dev/null; do
			i=$((i + 1))
			if [ $i -ge 30 ]; then say "the host never listened for the end (phase $phase)"; exit 1; fi
			sleep 2
		done
	done
	exit $status
	;;
esac
