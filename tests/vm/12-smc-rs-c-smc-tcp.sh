# vms: 2
# timeout: 1200
# append: kunit.filter_glob=smc_rs_proto
# The Rust AF_SMC family (host) and the kernel's C smc (guest) over the
# virtio link between two VMs, each side as client and as server, no ISM
# device between them (each has only its loopback device) and no user EID.
# Both sides send the SMC TCP option and run the CLC handshake, which ends
# in a fallback to TCP; data integrity holds both ways with 1 and 100
# parallel connections, over AF_SMC and over IPPROTO_SMC sockets. Each side
# counts the reason a C-to-C pair counts in this setup (client PEERDECL,
# server NOUEID):
# - Rust server, C client: the C client proposes SMC-Dv2 without a UEID; the
#   Rust server declines with NOUEID (0x03030008), as a C server does; the C
#   client counts PEERDECL (0x05000000).
# - Rust client, C server: the Rust client proposes what a C client with the
#   loopback device proposes; the C server declines with NOUEID and counts
#   it; the Rust client counts PEERDECL.
# Then both VMs load ism_ivshmem and the C side adds a user EID: a device the
# C side could use for SMC-D. The Rust side has no user EID (SMC-D between
# the two is 17's): as server it declines with NOSMCDDEV (0x03030001: a
# device matches, the C client's EID does not, as a C server without the EID
# declines), as client it proposes without an EID and the C server declines
# with NOUEID. Connections still complete, with their data intact.
set -u
. "$EXTRA/checks.inc"

if [ "$VM_ROLE" = host ]; then
	check smc-rs-load modprobe smc_rs
else
	check c-smc-load modprobe smc
	smctest stats > /tmp/stats0
fi

# rs_pair NAME CONNS BYTES PORT RUST-ROLE [FAMILY]: `pair`, the Rust family
# (host) being RUST-ROLE (server or client), with sockets of FAMILY (smc:
# AF_SMC, inet: IPPROTO_SMC).
rs_pair() {
	meet "$1" > /dev/null
	srv=host
	[ "$5" = client ] && srv=guest
	PAIR_SERVER=$srv pair "$1" "$4" --family "${6:-smc}" --conns "$2" --bytes "$3" --timeout 600
}
# 100 connections carry 8K each way: on the TCG rig TCP moves about 2 Mbit/s,
# and the CLC messages of the last handshakes must not wait behind the bulk
# data of the first connections for more than the C side's CLC timeout (6 s).
rs_pair rust-server-1 1 4M 7101 server
rs_pair rust-server-100 100 8K 7102 server
rs_pair rust-client-1 1 4M 7103 client
rs_pair rust-client-100 100 8K 7104 client
# The same handshakes between IPPROTO_SMC sockets on both sides.
rs_pair rust-inet-server-1 1 1M 7105 server inet
rs_pair rust-inet-client-1 1 1M 7106 client inet
meet done > /dev/null

# rsn FILE ROLE CODE: the count of `ROLE CODE COUNT` in a copy of smc_rs's
# statistics. reasons FILE KIND CODE MIN: the count of `KIND CODE COUNT NAME`
# lines in a C statistics delta, at least MIN.
rsn() { awk -v r="$2" -v c="$3" '$1 == r && $2 == c { n = $3 } END { print n + 0 }' "$1"; }
reasons() {
	v=$(awk -v k="$2" -v c="$3" '$1 == k && $2 == c { print $3; f = 1 }
		END { if (!f) print 0 }' "$1")
	echo "$2 $3: $v, want at least $4"; [ "$v" -ge "$4" ]
}
f=/sys/kernel/debug/smc_rs/fallback

if [ "$VM_ROLE" = guest ]; then
	smctest stats --since /tmp/stats0 > /tmp/d
	sed 's/^/  delta: /' /tmp/d
	# Every C connection fell back: 102 as client (the peer declined), 102 as
	# server (declined the proposal without an EID).
	check c-client-fallback-peerdecl reasons /tmp/d fback_clnt 0x05000000 102
	check c-server-fallback-noueid reasons /tmp/d fback_srv 0x03030008 102
	check c-no-smcd is /tmp/d smcd_clnt_v2_succ 0
else
	cp $f /tmp/fb0
	sed 's/^/  smc_rs: /' /tmp/fb0
	check rust-server-declined-noueid sh -c "[ $(rsn /tmp/fb0 srv 0x03030008) -ge 102 ]"
	check rust-client-peerdecl sh -c "[ $(rsn /tmp/fb0 clnt 0x05000000) -ge 102 ]"
fi

# Then with an ISM device the C side could use: both VMs load ism_ivshmem (one
# fabric between them) and the C side adds a user EID, with which a C peer
# would take SMC-D. Our side has no EID and declines as C would: the
# connections complete over TCP, data intact both ways, and each side counts
# the reason.
EID=SMC-RS-FABRIC.TEST
check ism-load modprobe ism_ivshmem
if [ "$VM_ROLE" = guest ]; then
	check ueid-add smctest ueid add "$EID"
	smctest stats > /tmp/stats1
fi
rs_pair ism-rust-server-1 1 2M 7111 server
rs_pair ism-rust-server-10 10 8K 7112 server
rs_pair ism-rust-client-1 1 2M 7113 client
rs_pair ism-rust-client-10 10 8K 7114 client
meet ism-done > /dev/null

if [ "$VM_ROLE" = guest ]; then
	smctest stats --since /tmp/stats1 > /tmp/d1
	sed 's/^/  ism delta: /' /tmp/d1
	check ism-c-client-fallback-peerdecl reasons /tmp/d1 fback_clnt 0x05000000 11
	check ism-c-server-fallback-noueid reasons /tmp/d1 fback_srv 0x03030008 11
	check ism-c-no-smcd is /tmp/d1 smcd_clnt_v2_succ 0
	check c-smc-unload modprobe -r smc_diag smc
else
	cp $f /tmp/fb1
	sed 's/^/  smc_rs: /' /tmp/fb1
	# delta CODE ROLE: the count since the first phase.
	delta() { echo $(($(rsn /tmp/fb1 "$1" "$2") - $(rsn /tmp/fb0 "$1" "$2"))); }
	echo "ism phase: srv NOSMCDDEV $(delta srv 0x03030001), clnt PEERDECL $(delta clnt 0x05000000)"
	check ism-rust-server-declined-nosmcddev sh -c "[ $(delta srv 0x03030001) -ge 11 ]"
	check ism-rust-client-peerdecl sh -c "[ $(delta clnt 0x05000000) -ge 11 ]"
	check rust-no-handshake-errors sh -c "[ $(rsn /tmp/fb1 srv hshake_err) -eq 0 ] && [ $(rsn /tmp/fb1 clnt hshake_err) -eq 0 ]"
	check smc-rs-unload rmmod smc_rs
fi
check ism-unload modprobe -r ism_ivshmem
exit $fails
