# vms: 1
# timeout: 1800
# append: kunit.filter_glob=smc_rs_proto
# The Rust AF_SMC family as a TCP program sees it: every socket call goes to
# the internal TCP connection (no ISM device and no CLC yet, so every
# connection is what the C smc calls a fallback). The socket-API
# conformance cases (smctest sockapi, as 31 runs them against the C smc)
# pass over AF_SMC and over IPPROTO_SMC sockets, for IPv4 and IPv6, and
# checksummed streams go both ways between AF_SMC sockets, IPPROTO_SMC
# sockets and plain TCP; 1000 short connections come and go without a leak.
set -u
. "$EXTRA/checks.inc"

check smc-rs-load modprobe smc_rs
sockapi sockapi-smc-rs smc 7300
sockapi sockapi-smc-rs6 smc6 7400
# The same over IPPROTO_SMC: socket(AF_INET[6], SOCK_STREAM, IPPROTO_SMC).
sockapi sockapi-smc-rs-inet inet 7700
sockapi sockapi-smc-rs-inet6 inet6 7800
# Thousands of connect/close cycles (kmemleak looks after the run).
sockapi sockapi-smc-rs-churn smc 7500 --only connect-close-churn --churn 1000

# stream NAME SERVER-FAMILY CLIENT-FAMILY ADDR PORT: a checksummed stream
# both ways over 4 connections.
stream() {
	smctest stream server --family "$2" --port "$5" --conns 4 --bytes 8M \
		--timeout 300 --name "$1-server" >/tmp/$1.s 2>&1 &
	spid=$!
	smctest stream client --family "$3" --addr "$4" --port "$5" --conns 4 \
		--bytes 8M --timeout 300 --name "$1-client" >/tmp/$1.c 2>&1
	crc=$?
	wait $spid
	src=$?
	grep '^TEST \|^  server\|^  client' /tmp/$1.s /tmp/$1.c
	[ $crc -eq 0 ] && [ $src -eq 0 ] || fails=$((fails + 1))
}
stream stream-smc-rs smc smc 127.0.0.1 7600
stream stream-smc-rs-to-tcp tcp smc 127.0.0.1 7610
stream stream-tcp-to-smc-rs smc tcp 127.0.0.1 7620
stream stream-smc-rs-inet inet inet 127.0.0.1 7630
stream stream-smc-rs-inet-to-smc smc inet 127.0.0.1 7640

check smc-rs-unload rmmod smc_rs
exit $fails
