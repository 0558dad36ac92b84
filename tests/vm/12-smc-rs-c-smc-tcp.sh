# vms: 2
# timeout: 1200
# append: kunit.filter_glob=smc_rs_proto
# The Rust AF_SMC family (host) and the kernel's C smc (guest) over the
# virtio link between two VMs, each side as client and as server, no ISM
# device between them (each has only its loopback device) and no user EID.
# Both sides send the SMC TCP option and run the CLC handshake, which ends
# in a fallback to TCP; data integrity holds both ways with 1 and 100
# parallel connections, over AF_SMC and over IPPROTO_SMC sockets. The
# reasons each side counts:
# - Rust server, C client: the C client proposes SMC-Dv2 without a UEID; the
#   Rust server declines with NOUEID (0x03030008), as a C server does in
#   this setup; the C client counts PEERDECL (0x05000000).
# - Rust client, C server: the Rust client offers no device yet, so it
#   declines at once with NOSMCDEV (0x03030000), as a C client without a
#   device does; the C server counts PEERDECL.
set -u
. "$EXTRA/checks.inc"

if [ "$VM_ROLE" = host ]; then
	check smc-rs-load modprobe smc_rs
else
	check c-smc-load modprobe smc
	smctest stats > /tmp/stats0
fi

# stream NAME ROLE CONNS BYTES PORT [FAMILY]: this VM is ROLE (server or
# client), with sockets of FAMILY (smc: AF_SMC, inet: IPPROTO_SMC).
stream() {
	if [ "$2" = server ]; then
		smctest stream server --family "${6:-smc}" --port "$5" --conns "$3" --bytes "$4" \
			--timeout 600 --name "$1-server" >/tmp/s.out 2>&1
	else
		smctest stream client --family "${6:-smc}" --addr "$PEER_IP" --port "$5" --conns "$3" \
			--bytes "$4" --timeout 600 --name "$1-client" >/tmp/s.out 2>&1
	fi
	rc=$?
	grep -v '^  conn ' /tmp/s.out | head -30
	grep -q "^TEST $1-" /tmp/s.out || echo "TEST $1-$2 FAIL (exit $rc)"
	[ $rc -eq 0 ] || fails=$((fails + 1))
}
# pair NAME CONNS BYTES PORT RUST-ROLE [FAMILY]: the Rust family (host) is
# RUST-ROLE.
pair() {
	meet "$1" > /dev/null
	if [ "$VM_ROLE" = host ]; then
		stream "$1" "$5" "$2" "$3" "$4" "${6:-smc}"
	elif [ "$5" = server ]; then
		stream "$1" client "$2" "$3" "$4" "${6:-smc}"
	else
		stream "$1" server "$2" "$3" "$4" "${6:-smc}"
	fi
}
# 100 connections carry 8K each way: on the TCG rig TCP moves about 2 Mbit/s,
# and the CLC messages of the last handshakes must not wait behind the bulk
# data of the first connections for more than the C side's CLC timeout (6 s).
pair rust-server-1 1 4M 7101 server
pair rust-server-100 100 8K 7102 server
pair rust-client-1 1 4M 7103 client
pair rust-client-100 100 8K 7104 client
# The same handshakes between IPPROTO_SMC sockets on both sides.
pair rust-inet-server-1 1 1M 7105 server inet
pair rust-inet-client-1 1 1M 7106 client inet
meet done > /dev/null

if [ "$VM_ROLE" = guest ]; then
	smctest stats --since /tmp/stats0 > /tmp/d
	sed 's/^/  delta: /' /tmp/d
	# Every C connection fell back because its peer declined: 102 as client,
	# 102 as server. reasons KIND CODE MIN: the count of `KIND CODE COUNT NAME`
	# lines.
	reasons() {
		v=$(awk -v k="$1" -v c="$2" '$1 == k && $2 == c { print $3; f = 1 }
			END { if (!f) print 0 }' /tmp/d)
		echo "$1 $2: $v, want at least $3"; [ "$v" -ge "$3" ]
	}
	check c-client-fallback-peerdecl reasons fback_clnt 0x05000000 102
	check c-server-fallback-peerdecl reasons fback_srv 0x05000000 102
	check c-no-smcd is /tmp/d smcd_clnt_v2_succ 0
	check c-smc-unload modprobe -r smc_diag smc
else
	f=/sys/kernel/debug/smc_rs/fallback
	sed 's/^/  smc_rs: /' $f
	# rsn ROLE CODE: the count of `ROLE CODE COUNT` in smc_rs's statistics.
	rsn() { awk -v r="$1" -v c="$2" '$1 == r && $2 == c { n = $3 } END { print n + 0 }' $f; }
	check rust-server-declined-noueid sh -c "[ $(rsn srv 0x03030008) -ge 102 ]"
	check rust-client-declined-nosmcdev sh -c "[ $(rsn clnt 0x03030000) -ge 102 ]"
	check rust-no-handshake-errors sh -c "[ $(rsn srv hshake_err) -eq 0 ] && [ $(rsn clnt hshake_err) -eq 0 ]"
	check smc-rs-unload rmmod smc_rs
fi
exit $fails
