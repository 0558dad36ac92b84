# vms: 1
# timeout: 600
# append: kunit.filter_glob=smc_rs*
# Real CLC handshakes of the kernel's C smc over lo with the dibs loopback
# device, captured off the wire with `smctest clccap` (AF_PACKET) and
# printed on the console as `clccap NAME: CLC <conn> <c2s|s2c> <type> <hex>`
# lines, from which net/smc/wire/tests/c_captures.txt is taken; each
# capture is also checked here for the messages and SMC TCP options its
# shape must have. SMC-Dv2 first contact and link group reuse, AF_SMC,
# AF_INET+IPPROTO_SMC and IPv6; no user EID (decline NOUEID); a PNET ID on
# lo (an SMC-Dv1+v2 proposal with IP prefixes, declined NOSMCDDEV); an SMC
# client against a plain TCP server (no option in the SYN-ACK, no CLC).
# The exchanges between two VMs are 33-clc-capture-fabric.sh: using the
# loopback device and ism_ivshmem in one boot makes lockdep report the
# dibs->lock class taken in hard IRQ (the fabric's interrupt) and with
# interrupts on (dibs_lo_move_data()).
set -u
. "$EXTRA/checks.inc"
. "$EXTRA/clccap.inc"
EID=SMC-RS-CLCCAP.TEST

# stream NAME FAMILY SERVER-ADDR CLIENT-ADDR PORT EXPECT [SERVER-FAMILY]:
# one connection with a little data, server and client in this VM.
stream() {
	smctest stream server --family "${7:-$2}" --addr "$3" --port "$5" --conns 1 --bytes 4K \
		--expect "$6" --timeout 120 --name "$1-server" >/tmp/srv.out 2>&1 &
	spid=$!
	i=0
	until grep -q '^listening' /tmp/srv.out || [ $i -ge 300 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	smctest stream client --family "$2" --addr "$4" --port "$5" --conns 1 --bytes 4K \
		--expect "$6" --timeout 120 --connect-timeout 60 --name "$1-client" >/tmp/cli.out 2>&1
	crc=$?
	wait $spid
	src=$?
	grep '^TEST \|^mode_\|rsn' /tmp/srv.out /tmp/cli.out
	grep -q "^TEST $1-server " /tmp/srv.out || echo "TEST $1-server FAIL (exit $src)"
	grep -q "^TEST $1-client " /tmp/cli.out || echo "TEST $1-client FAIL (exit $crc)"
	[ $src -eq 0 ] && [ $crc -eq 0 ] || fails=$((fails + 1))
}

check c-smc-load modprobe smc
smctest sysinfo
check ueid-add smctest ueid add "$EID"
# First contact, then a connection on the same link group.
capture lo-v2-smc lo 7301 2
stream lo-v2-smc-1 smc 127.0.0.1 127.0.0.1 7301 smcd
stream lo-v2-smc-2 smc 127.0.0.1 127.0.0.1 7301 smcd
captured
check lo-v2-smc-synopt want lo-v2-smc "SYNOPT 1 syn=1 synack=1" "SYNOPT 2 syn=1 synack=1"
# The first: v2 first contact (version 2, first contact bit, SMC-D) with the
# first contact extension; the second: 78 bytes, no first contact bit.
check lo-v2-smc-msgs want lo-v2-smc "CLC 1 c2s proposal e2d4c3d9" "CLC 1 s2c accept e2d4c3c402....29" \
	"CLC 1 c2s confirm e2d4c3c403....29" "CLC 2 c2s proposal e2d4c3d9" \
	"CLC 2 s2c accept e2d4c3c402004e21" "CLC 2 c2s confirm e2d4c3c403004e21"
check lo-v2-smc-count nclc lo-v2-smc 6

capture lo-v2-inet lo 7302 1
stream lo-v2-inet inet 127.0.0.1 127.0.0.1 7302 smcd
captured
check lo-v2-inet-msgs want lo-v2-inet "CLC 1 c2s proposal" "CLC 1 s2c accept" "CLC 1 c2s confirm"

capture lo-v2-smc6 lo 7303 1
stream lo-v2-smc6 smc ::1 ::1 7303 smcd
captured
check lo-v2-smc6-msgs want lo-v2-smc6 "SYNOPT 1 syn=1 synack=1" "CLC 1 c2s proposal" \
	"CLC 1 s2c accept" "CLC 1 c2s confirm"
check lo-v2-smc6-v6 want lo-v2-smc6 "CONN 1 \[::1\]:"

# No user EID: the server declines (SMC_CLC_DECL_NOUEID).
check ueid-del smctest ueid del "$EID"
capture lo-noueid lo 7304 1
stream lo-noueid smc 127.0.0.1 127.0.0.1 7304 fallback
captured
check lo-noueid-msgs want lo-noueid "CLC 1 c2s proposal" "CLC 1 s2c decline e2d4c3d9"
check lo-noueid-reason sh -c "grep '^CLC 1 s2c decline' /tmp/cap.lo-noueid | grep -q ' e2d4c3d904.\{22\}03030008'"

# A PNET ID on lo and the loopback device: an SMC-Dv1 proposal with the
# IP prefix (IPv4 and IPv6), which the server declines
# (SMC_CLC_DECL_NOSMCDDEV: the server has no SMC-Dv1 device).
check pnet-add-lo-ism smctest pnet add NETLO --ib lo
check pnet-add-lo-eth smctest pnet add NETLO lo
capture lo-pnet lo 7305 1
stream lo-pnet smc 127.0.0.1 127.0.0.1 7305 fallback
captured
check lo-pnet-msgs want lo-pnet "CLC 1 c2s proposal" "CLC 1 s2c decline"
check lo-pnet-reason sh -c "grep '^CLC 1 s2c decline' /tmp/cap.lo-pnet | grep -q ' e2d4c3d904.\{22\}03030001'"
capture lo-pnet6 lo 7306 1
stream lo-pnet6 smc ::1 ::1 7306 fallback
captured
check lo-pnet6-msgs want lo-pnet6 "CLC 1 c2s proposal" "CLC 1 s2c decline"
check pnet-flush smctest pnet flush

# An SMC client against a plain TCP server: no option in the SYN-ACK, no CLC.
capture lo-tcpsrv lo 7307 1
stream lo-tcpsrv smc 127.0.0.1 127.0.0.1 7307 any tcp
captured
check lo-tcpsrv-synopt want lo-tcpsrv "SYNOPT 1 syn=1 synack=0"
check lo-tcpsrv-noclc nclc lo-tcpsrv 0

check c-smc-unload modprobe -r smc_diag smc
exit $fails
