# vms: 2
# timeout: 1200
# append: kunit.filter_glob=smc_rs*
# The Rust AF_SMC family (host) and the kernel's C smc (guest) over the
# virtio link between two VMs, each side as client and as server. The Rust
# family does not offer SMC yet (no SMC option on its SYNs and SYN-ACKs, no
# CLC), so the C side falls back to TCP at once, for the reason "peer did
# not indicate SMC" (PEERNOSMC, 0x03010000), which its statistics count;
# data integrity holds both ways with 1 and 100 parallel connections.
set -u
. "$EXTRA/checks.inc"

if [ "$VM_ROLE" = host ]; then
	check smc-rs-load modprobe smc_rs
else
	check c-smc-load modprobe smc
	smctest stats > /tmp/stats0
fi

# stream NAME ROLE CONNS BYTES PORT: this VM is ROLE (server or client).
stream() {
	if [ "$2" = server ]; then
		smctest stream server --family smc --port "$5" --conns "$3" --bytes "$4" \
			--timeout 600 --name "$1-server" >/tmp/s.out 2>&1
	else
		smctest stream client --family smc --addr "$PEER_IP" --port "$5" --conns "$3" \
			--bytes "$4" --timeout 600 --name "$1-client" >/tmp/s.out 2>&1
	fi
	rc=$?
	grep -v '^  conn ' /tmp/s.out | head -30
	grep -q "^TEST $1-" /tmp/s.out || echo "TEST $1-$2 FAIL (exit $rc)"
	[ $rc -eq 0 ] || fails=$((fails + 1))
}
# pair NAME CONNS BYTES PORT RUST-ROLE: the Rust family (host) is RUST-ROLE.
pair() {
	meet "$1" > /dev/null
	if [ "$VM_ROLE" = host ]; then
		stream "$1" "$5" "$2" "$3" "$4"
	elif [ "$5" = server ]; then
		stream "$1" client "$2" "$3" "$4"
	else
		stream "$1" server "$2" "$3" "$4"
	fi
}
pair rust-server-1 1 4M 7101 server
pair rust-server-100 100 64K 7102 server
pair rust-client-1 1 4M 7103 client
pair rust-client-100 100 64K 7104 client
meet done > /dev/null

if [ "$VM_ROLE" = guest ]; then
	smctest stats --since /tmp/stats0 > /tmp/d
	sed 's/^/  delta: /' /tmp/d
	# Every C connection fell back for PEERNOSMC: 101 as client, 101 as server.
	# reasons KIND CODE MIN: the count of `KIND CODE COUNT NAME` lines.
	reasons() {
		v=$(awk -v k="$1" -v c="$2" '$1 == k && $2 == c { print $3; f = 1 }
			END { if (!f) print 0 }' /tmp/d)
		echo "$1 $2: $v, want at least $3"; [ "$v" -ge "$3" ]
	}
	check c-client-fallback-peernosmc reasons fback_clnt 0x03010000 101
	check c-server-fallback-peernosmc reasons fback_srv 0x03010000 101
	check c-no-smcd is /tmp/d smcd_clnt_v2_succ 0
	check c-smc-unload modprobe -r smc_diag smc
else
	check smc-rs-unload rmmod smc_rs
fi
exit $fails
