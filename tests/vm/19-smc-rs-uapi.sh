# vms: 1
# timeout: 900
# The uAPI that smc-tools read, answered by smc_rs as by the C smc for the same
# workload over the dibs loopback device (a user EID set, three SMC-D
# connections streaming): SMC_GEN_NETLINK's system info, link groups
# (attributes that do not depend on timing: version, release, OS, negotiated
# EID, peer host, VLAN, CHID, GIDs), devices, statistics (SMC-Dv2 successes
# by role, fallback counts); and
# sock_diag (smcss): every socket of the streams listed as SMC-D while they
# run, none once they are closed.
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-UAPI.TEST
port=7960  # clear of the ports smc_rs's KUnit cases bind (7901..) when it loads

# workload TAG: streams while sampling the dumps into /tmp/TAG.*.
workload() {
	port=$((port + 1))
	smctest ueid add "$EID"
	smctest stats --all > /tmp/$1.st0
	smctest stream server --family smc --port $port --conns 3 --bytes 48M --timeout 300 --name $1-server >/tmp/$1.srv 2>&1 &
	spid=$!
	until grep -q '^listening' /tmp/$1.srv; do sleep 0.1; done
	smctest stream client --family smc --port $port --conns 3 --bytes 48M --timeout 300 --name $1-client >/tmp/$1.cli 2>&1 &
	cpid=$!
	# Sample while the streams run (their connections are all up once SMC-D counts them).
	i=0
	until [ "$(smctest diag | grep -c 'mode=smcd')" -ge 6 ] || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done
	smctest diag > /tmp/$1.diag
	smctest linkgroups > /tmp/$1.lgr
	smctest sysinfo > /tmp/$1.sys
	smctest devices > /tmp/$1.dev
	wait $cpid; wait $spid
	grep -h '^TEST' /tmp/$1.srv /tmp/$1.cli
	smctest stats --all > /tmp/$1.st1
	smctest diag > /tmp/$1.diag-after
	smctest ueid flush
	sed 's/^/  '$1' /' /tmp/$1.diag /tmp/$1.lgr /tmp/$1.sys
}
# The link group attributes that do not depend on timing, one line per group, sorted.
lgr_fixed() { sed -n 's/^smcd_lgr id=[^ ]* \(gid=[^ ]* ext_gid=[^ ]* peer_gid=[^ ]* peer_ext_gid=[^ ]* chid=[^ ]*\) conns=[^ ]* \(vlan=.*pnetid=[^ ]*\) .* \(ver=.*\)$/\1 \2 \3/p' "$1" | sort -u; }
delta() { echo $(( $(val /tmp/$1.st1 "$2") - $(val /tmp/$1.st0 "$2") )); }

check c-smc-load sh -c "modprobe smc && modprobe smc_diag"
workload c
check c-unload modprobe -r smc_diag smc
check rs-load modprobe smc_rs
workload rs

check sysinfo-same cmp /tmp/c.sys /tmp/rs.sys
check devices-same cmp /tmp/c.dev /tmp/rs.dev
lgr_fixed /tmp/c.lgr > /tmp/c.lgrf; lgr_fixed /tmp/rs.lgr > /tmp/rs.lgrf
sed 's/^/  c  lgr: /' /tmp/c.lgrf; sed 's/^/  rs lgr: /' /tmp/rs.lgrf
check lgr-listed test -s /tmp/rs.lgrf
check lgr-fixed-attrs-same cmp /tmp/c.lgrf /tmp/rs.lgrf
for m in c rs; do
	check $m-diag-smcd-6 test "$(grep -c 'state=ACTIVE mode=smcd rsn=0x00000000' /tmp/$m.diag)" -ge 6
	check $m-diag-none-after sh -c "grep -qx 'socks 0' /tmp/$m.diag-after"
	check $m-stats-clnt-v2 test "$(delta $m smcd_clnt_v2_succ)" = 3
	check $m-stats-srv-v2 test "$(delta $m smcd_srv_v2_succ)" = 3
	check $m-stats-no-fallback test "$(delta $m fback_clnt_cnt)" = 0
done
# The handshake limitation switch and the SEID switches (s390
# only: EOPNOTSUPP here, as C answers).
check hs-limit-off sh -c "smctest hslimit | grep -qx 'hs_limitation 0'"
check hs-limit-enable smctest hslimit on
check hs-limit-on sh -c "smctest hslimit | grep -qx 'hs_limitation 1'"
check hs-limit-disable smctest hslimit off
check hs-limit-off-again sh -c "smctest hslimit | grep -qx 'hs_limitation 0'"
check seid-on-unsupported sh -c "smctest seid on 2>&1 | grep -q 'Operation not supported'"
check rs-unload modprobe -r smc_rs
exit $fails
