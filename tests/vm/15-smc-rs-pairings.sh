# vms: 2
# timeout: 1200
# append: kunit.filter_glob=smc_rs_proto
# The same-implementation pairings between two VMs, in one run, each with 1
# connection (2M each way) and 100 (8K each way), checksummed, no ISM device
# usable and no user EID: first the kernel's C smc on both VMs (the
# reference: the reasons C counts in this setup), then smc_rs on both. Each
# side of the Rust pair must count the reason its C counterpart counted
# (server NOUEID, client PEERDECL). The mixed pairings are 12's.
set -u
. "$EXTRA/checks.inc"

# stream NAME CONNS BYTES PORT: `pair` over AF_SMC, the host serving.
stream() {
	pair "$1" "$4" --family smc --conns "$2" --bytes "$3" --timeout 600
}
# pairs NAME PORT: 1 and 100 connections.
pairs() {
	meet "$1" > /dev/null
	stream "$1-1" 1 2M "$2"
	meet "$1-100" > /dev/null
	stream "$1-100" 100 8K $(($2 + 1))
}
# The role this VM plays and the statistics kind of it.
if [ "$VM_ROLE" = host ]; then kind=srv; else kind=clnt; fi

# 1. C to C.
check c-smc-load modprobe smc
smctest stats > /tmp/stats0
pairs c-c 7201
smctest stats --since /tmp/stats0 > /tmp/d
sed 's/^/  c delta: /' /tmp/d
# The reason C counted most often in this role (`fback_KIND CODE COUNT NAME`).
read -r code count <<EOT
$(awk -v k="fback_$kind" '$1 == k { print $2, $3 }' /tmp/d | sort -k2 -n | tail -1)
EOT
echo "C $kind: ${code:-none} ${count:-0}"
check c-c-all-fell-back sh -c "[ ${count:-0} -ge 101 ]"
if [ "$VM_ROLE" = host ]; then
	check c-c-server-noueid test "${code:-}" = 0x03030008
else
	check c-c-client-peerdecl test "${code:-}" = 0x05000000
fi
# Sockets may take a moment to go after their close.
unload_c() { for i in $(seq 30); do modprobe -r smc_diag smc 2>/dev/null && return 0; sleep 1; done; return 1; }
check c-smc-unload unload_c

# 2. Rust to Rust.
check smc-rs-load modprobe smc_rs
pairs rs-rs 7211
f=/sys/kernel/debug/smc_rs/fallback
sed 's/^/  smc_rs: /' $f
n=$(awk -v r="$kind" -v c="${code:-none}" '$1 == r && $2 == c { print $3 }' $f)
echo "smc_rs $kind ${code:-none}: ${n:-0}"
check rs-rs-same-reason-as-c sh -c "[ ${n:-0} -ge 101 ]"
check rs-rs-no-handshake-errors sh -c "awk -v r=$kind '\$1 == r && \$2 == \"hshake_err\" { e = \$3 } END { exit e != 0 }' $f"
meet done > /dev/null
check smc-rs-unload rmmod smc_rs
exit $fails
