# vms: 1
# timeout: 900
# append: kunit.filter_glob=smc_rs*
# Real, unmodified TCP programs (Debian's socat, nc.openbsd and iperf3,
# dynamically linked) over the kernel's C smc through the LD_PRELOAD socket
# mapper (smc_run, tools/smc-preload), server and client both mapped:
# SMC-Dv2 over the dibs loopback device, with the user EID of
# 30-c-smc-loopback.sh (without one every connection falls back to TCP).
# smctest stats shows that every connection was SMC-D, smc_diag that the
# programs' own sockets were. Without smc_run the same programs use TCP
# (no SMC statistics move); with the C smc unloaded (and not loadable)
# smc_run falls back to TCP and they still work.
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-LOOPBACK.TEST
port=7200
D=/tmp/preload
mkdir -p "$D"

# is FILE KEY WANT / atleast FILE KEY MIN: a `key value` line of smctest's output.
val() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }' "$1"; }
is() { v=$(val "$1" "$2"); echo "$2 = $v, want $3"; [ "$v" = "$3" ]; }
atleast() { v=$(val "$1" "$2"); echo "$2 = $v, want at least $3"; [ "$v" != missing ] && [ "$v" -ge "$3" ]; }
# nothing_moved FILE: every counter of a `smctest stats --since` delta is 0
# (fallback reason lines are `fback_srv|fback_clnt CODE COUNT NAME`).
nothing_moved() {
	cat "$1"
	awk '{ v = ($1 == "fback_srv" || $1 == "fback_clnt") ? $3 : $2; if (v != 0) bad = 1 } END { exit bad }' "$1"
}
. "$EXTRA/preload.inc"

# stats_begin / stats_end NAME CONNS: the SMC statistics moved by exactly
# CONNS SMC-Dv2 connections (client and server side), with no fallback.
stats_begin() { smctest stats > "$D/s0"; }
stats_end() {
	smctest stats --since "$D/s0" > "$D/d"
	sed 's/^/  delta: /' "$D/d" | grep -v ' 0$'
	check "$1-smcd-clnt" is "$D/d" smcd_clnt_v2_succ "$2"
	check "$1-smcd-srv" is "$D/d" smcd_srv_v2_succ "$2"
	check "$1-no-clnt-fallback" is "$D/d" fback_clnt_cnt 0
	check "$1-no-srv-fallback" is "$D/d" fback_srv_cnt 0
	check "$1-no-hshake-err" sh -c "grep -qx 'clnt_hshake_err 0' $D/d && grep -qx 'srv_hshake_err 0' $D/d"
}

# The programs and the mapper are in the image, and the programs' shared
# libraries with them (they start).
check tools-present sh -c "command -v smc_run && command -v socat && command -v iperf3 && command -v nc.openbsd && [ -f /usr/lib/libsmc_preload.so ]"
check socat-starts socat -V
check iperf3-starts iperf3 -v
[ $fails -eq 0 ] || exit $fails

head -c $((6 << 20)) /dev/urandom > "$D/a"
head -c $((5 << 20)) /dev/urandom > "$D/b"

check c-smc-load modprobe smc
check ueid-add smctest ueid add "$EID"

# Mapped: every connection SMC-Dv2; the debug lines show the mapping.
stats_begin
socat_xfer socat-smc 4 smc_run -d
check socat-smc-mapped sh -c "grep -q 'socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) -> socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC) = ' $D/srv.err && grep -q -- '-> socket(AF_SMC, .*SMCPROTO_SMC) = ' $D/cli.err"
stats_end socat-smc 1
check socat-smc-tx-bytes atleast "$D/d" smcd_tx_bytes $((11 << 20))
check socat-smc-rx-bytes atleast "$D/d" smcd_rx_bytes $((11 << 20))

stats_begin
socat_xfer socat-smc6 6 smc_run -d
check socat-smc6-mapped grep -q 'socket(AF_INET6, .*SMCPROTO_SMC6) = ' "$D/cli.err"
stats_end socat-smc6 1

stats_begin
nc_xfer nc-smc smc_run -d
stats_end nc-smc 1

# iperf3: a control connection and a data connection per stream.
stats_begin
iperf_run iperf3-smc-2-streams "smc_run -d" -- -t 3 -P 2
iperf_run iperf3-smc-reverse "smc_run" -- -n 8M -R
stats_end iperf3-smc 5

# SMC_PRELOAD_MODE=inet: AF_INET sockets with IPPROTO_SMC.
stats_begin
socat_xfer socat-inet-mode 4 smc_run -d -i
check socat-inet-mode-mapped grep -q -- '-> socket(AF_INET, SOCK_STREAM, IPPROTO_SMC) = ' "$D/srv.err"
stats_end socat-inet-mode 1

# smc_diag: the programs' own sockets are SMC-D sockets. Two nc.openbsd
# keep a connection open (their input is a FIFO we hold).
port=$((port + 1))
mkfifo "$D/h1" "$D/h2"
smc_run nc.openbsd -l 127.0.0.1 $port < "$D/h1" > /dev/null &
npid1=$!
exec 7> "$D/h1"
wait_listen $port
smc_run nc.openbsd 127.0.0.1 $port < "$D/h2" > /dev/null &
npid2=$!
exec 8> "$D/h2"
i=0
until [ "$(netstat -tn 2>/dev/null | grep -c ":$port .*ESTABLISHED")" -ge 2 ] || [ $i -ge 300 ]; do
	i=$((i + 1))
	sleep 0.1
done
sleep 1 # the CLC handshake after the TCP connect
smctest diag > "$D/diag"
sed 's/^/  diag: /' "$D/diag"
# all_smcd PID: each socket of PID is an SMC socket, at least one is an
# active SMC-D connection and the rest listen (nc -l keeps its listener).
all_smcd() {
	act=0
	for ino in $(ls -l /proc/"$1"/fd | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p'); do
		l=$(grep "inode=$ino " "$D/diag") || { echo "socket $ino: not an SMC socket"; return 1; }
		echo "$l"
		case "$l" in
		*" state=ACTIVE mode=smcd "*) act=$((act + 1)) ;;
		*" state=LISTEN "*) ;;
		*) return 1 ;;
		esac
	done
	[ $act -ge 1 ]
}
check diag-nc-server-smcd all_smcd $npid1
check diag-nc-client-smcd all_smcd $npid2
kill $npid1 $npid2
wait $npid1 $npid2 2>/dev/null
exec 7>&- 8>&-

# Without smc_run: plain TCP, no SMC statistics move.
stats_begin
socat_xfer socat-tcp 4 env
nc_xfer nc-tcp env
iperf_run iperf3-tcp env -- -t 2
smctest stats --since "$D/s0" > "$D/d"
check tcp-no-smc-stats nothing_moved "$D/d"
# (The nc sockets above may take a moment to close.)
no_smc_socks() {
	i=0
	until smctest diag | grep -qx 'socks 0'; do
		i=$((i + 1)); [ $i -lt 50 ] || return 1
		sleep 0.2
	done
}
check tcp-no-smc-sockets no_smc_socks

# The C smc unloaded and not loadable (socket(AF_SMC) would otherwise load
# it again through request_module): smc_run falls back to TCP.
check ueid-del smctest ueid del "$EID"
check c-smc-unload modprobe -r smc_diag smc
modprobe_path=$(cat /proc/sys/kernel/modprobe)
echo /bin/false > /proc/sys/kernel/modprobe
socat_xfer socat-no-smc 4 smc_run -d
check socat-no-smc-fell-back sh -c "grep -q 'SMCPROTO_SMC) failed (errno 97), TCP = ' $D/srv.err && grep -q 'SMCPROTO_SMC) failed (errno 97), TCP = ' $D/cli.err"
nc_xfer nc-no-smc smc_run -d
iperf_run iperf3-no-smc "smc_run -d" -- -t 2 -P 2
check iperf3-no-smc-asks-once sh -c "[ \$(grep -c 'failed (errno 97)' $D/cli.out) -eq 1 ] && grep -q 'no SMC in this kernel, TCP = ' $D/cli.out"
socat_xfer socat-no-smc-inet-mode 4 smc_run -d -i
check socat-no-smc-inet-fell-back grep -q 'IPPROTO_SMC) failed (errno 93), TCP = ' "$D/cli.err"
check c-smc-still-unloaded sh -c "! grep -q '^smc ' /proc/modules"
echo "$modprobe_path" > /proc/sys/kernel/modprobe

# Other sockets are not touched: UDP through smc_run.
port=$((port + 1))
echo hello > "$D/u.in"
smc_run -d socat -T 5 -u UDP4-RECV:$port,bind=127.0.0.1 CREATE:"$D/u.recv" 2> "$D/u.err" &
upid=$!
i=0
until netstat -lun 2>/dev/null | grep -q ":$port " || [ $i -ge 300 ]; do i=$((i + 1)); sleep 0.1; done
smc_run -d socat -u OPEN:"$D/u.in" UDP4-SENDTO:127.0.0.1:$port 2>> "$D/u.err"
wait $upid
cat "$D/u.err"
udp_ok() { same "$D/u.in" "$D/u.recv" && ! grep -q smc-preload "$D/u.err"; }
check udp-untouched udp_ok
exit $fails
