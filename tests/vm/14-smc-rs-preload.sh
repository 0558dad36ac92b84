# vms: 1
# timeout: 900
# append: kunit.filter_glob=smc_rs_proto
# Real, unmodified TCP programs (Debian's socat, nc.openbsd and iperf3,
# dynamically linked) over our AF_SMC family through the LD_PRELOAD socket
# mapper (smc_run, tools/smc-preload), server and client both mapped: the
# programs' sockets are AF_SMC sockets of smc_rs (IPv4 and IPv6), which run
# the CLC handshake and fall back to TCP (our client proposes without an EID,
# our server declines NOUEID, our client counts PEERDECL, as C's would);
# files cross intact both ways at once.
set -u
. "$EXTRA/checks.inc"
port=7300
D=/tmp/preload
mkdir -p "$D"
. "$EXTRA/preload.inc"

check tools-present sh -c "command -v smc_run && command -v socat && command -v iperf3 && command -v nc.openbsd && [ -f /usr/lib/libsmc_preload.so ]"
[ $fails -eq 0 ] || exit $fails
head -c $((3 << 20)) /dev/urandom > "$D/a"
head -c $((2 << 20)) /dev/urandom > "$D/b"

check smc-rs-load modprobe smc_rs
f=/sys/kernel/debug/smc_rs/fallback
# rsn ROLE CODE: the count of `ROLE CODE COUNT` in smc_rs's statistics.
rsn() { awk -v r="$1" -v c="$2" '$1 == r && $2 == c { n = $3 } END { print n + 0 }' $f; }

socat_xfer socat-smc-rs 4 smc_run -d
# The mapper's debug lines: AF_INET became AF_SMC, and the AF_SMC socket was made.
check socat-mapped sh -c "grep -q 'socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) -> socket(AF_SMC, SOCK_STREAM, SMCPROTO_SMC) = [0-9]' $D/srv.err && grep -q -- '-> socket(AF_SMC, .*SMCPROTO_SMC) = [0-9]' $D/cli.err"
socat_xfer socat-smc6-rs 6 smc_run -d
check socat6-mapped grep -q 'socket(AF_INET6, .*SMCPROTO_SMC6) = [0-9]' "$D/cli.err"
nc_xfer nc-smc-rs smc_run
iperf_run iperf3-smc-rs smc_run -- -t 3

sed 's/^/  smc_rs: /' $f
# socat 2, nc 1, iperf3 2 (control and data): 5 connections each way.
check rust-client-peerdecl sh -c "[ $(rsn clnt 0x05000000) -ge 5 ]"
check rust-server-declined-noueid sh -c "[ $(rsn srv 0x03030008) -ge 5 ]"
check rust-no-handshake-errors sh -c "[ $(rsn srv hshake_err) -eq 0 ] && [ $(rsn clnt hshake_err) -eq 0 ]"
check smc-rs-unload rmmod smc_rs
exit $fails
