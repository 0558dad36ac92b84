# vms: 1
# timeout: 900
# The uAPI that smc-tools read, answered by smc_rs as by the C smc for the same
# workload over the dibs loopback device (a user EID set, three SMC-D
# connections streaming): SMC_GEN_NETLINK's system info, link groups
# (attributes that do not depend on timing: version, release, OS, negotiated
# EID, peer host, VLAN, CHID, GIDs), devices, statistics (SMC-Dv2 successes
# by role, fallback counts); and
# sock_diag (smcss): every socket of the streams listed as SMC-D while they
# run, none once they are closed; and
# the net.smc sysctls: the same files, defaults and refusals of values out of
# range, limit_smc_hs one switch with SMC_NETLINK_*_HS_LIMITATION, and
# rmem/wmem sizing the buffers of the connections made after a change; and
# SMC_PNETID (smc_pnet): adds, refusals, deletes, the listing, and a PNET ID
# on the loopback device keeping it out of the client's proposal (the
# connection falls back) until the entry is deleted; a table of a thousand
# entries dumped in parts; the same refusals for an unprivileged user (no
# CAP_NET_ADMIN) of every change, the dumps answered; and a second network
# namespace with its own sysctls, pnet table (no device entries), handshake
# switch and sockets, none of which the initial namespace sees.
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
# sysctls TAG: the net.smc files and how writes go, into /tmp/TAG.sysctl*.
sysctls() {
	sysctl -a 2>/dev/null | grep '^net\.smc\.' | sort > /tmp/$1.sysctl
	# Out of range (each file's bounds as C has them), not a number, then in range.
	for w in rmem=16383 wmem=1073741824 limit_smc_hs=2 smcr_buf_type=3 \
		smcr_max_links_per_lgr=0 smcr_max_conns_per_lgr=256 smcr_max_send_wr=1 \
		autocorking_size=-1 rmem=abc \
		smcr_testlink_time=60 autocorking_size=4096; do
		f=/proc/sys/net/smc/${w%%=*}
		if sh -c "echo ${w#*=} > $f" 2>/dev/null; then r=ok; else r=refused; fi
		echo "$w $r -> $(cat $f)"
	done > /tmp/$1.sysctl-w
	# One switch: the sysctl and generic netlink.
	{
		sysctl -w net.smc.limit_smc_hs=1 >/dev/null; smctest hslimit
		smctest hslimit off; cat /proc/sys/net/smc/limit_smc_hs
	} > /tmp/$1.sysctl-hs 2>&1
	# Buffers from rmem/wmem: one stream's link group buffers, then the defaults back.
	sysctl -w net.smc.rmem=131072 net.smc.wmem=262144 >/dev/null
	smctest linkgroups > /tmp/$1.blgr0
	port=$((port + 1))
	smctest ueid add "$EID"
	smctest stream server --family smc --port $port --bytes 64M --timeout 300 --name $1-bufs-server >/tmp/$1.bsrv 2>&1 &
	spid=$!
	until grep -q '^listening' /tmp/$1.bsrv; do sleep 0.1; done
	smctest stream client --family smc --port $port --bytes 64M --timeout 300 --name $1-bufs-client >/tmp/$1.bcli 2>&1 &
	cpid=$!
	i=0
	until [ "$(smctest diag | grep -c 'mode=smcd')" -ge 2 ] || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.1; done
	smctest linkgroups > /tmp/$1.blgr
	wait $cpid; wait $spid
	grep -h '^TEST' /tmp/$1.bsrv /tmp/$1.bcli
	smctest ueid flush
	sysctl -w net.smc.rmem=65536 net.smc.wmem=65536 >/dev/null
	# The DMBs the two connections (each side's) added are rmem each (C's
	# totals also count the freed DMBs it keeps for reuse: hence the delta).
	dmbs() { sed -n 's/.* dmbs=\([0-9]*\) .*/\1/p' "$1" | awk '{ s += $1 } END { print s + 0 }'; }
	echo "dmbs $(( $(dmbs /tmp/$1.blgr) - $(dmbs /tmp/$1.blgr0) ))" > /tmp/$1.bufs
	sed 's/^/  '$1' /' /tmp/$1.sysctl /tmp/$1.sysctl-w /tmp/$1.sysctl-hs /tmp/$1.blgr
}
# pnets TAG: smc_pnet's requests and their effect, into /tmp/TAG.pnet.
pnets() {
	smctest ueid add "$EID"
	for a in "add net1 --eth eth0" "add NET1 --eth eth0" "add net1 --eth eth9" \
		"add ab-c --eth eth0" "add net2 --ib lo --ib-port 3" "add net2 --ib lo" \
		"add net3 --ib lo" "add net2 --ib nosuchdev" "del net7" "list"; do
		echo "pnet $a: $(smctest pnet $a 2>&1 | tr '\n' ' ')"
	done > /tmp/$1.pnet
	# The loopback device has a PNET ID now: a client does not offer it.
	pnet_stream $1 held >> /tmp/$1.pnet
	# `del` matches the name as given (C upper-cases only what it adds).
	for a in "del net2" "del NET2" "list" "add net4 --ib lo" "flush" "list"; do
		echo "pnet $a: $(smctest pnet $a 2>&1 | tr '\n' ' ')"
	done >> /tmp/$1.pnet
	pnet_stream $1 free >> /tmp/$1.pnet
	smctest ueid flush
	sed 's/^/  '$1' /' /tmp/$1.pnet
}
# pnet_stream TAG NAME: one short SMC stream; prints how its connections went.
pnet_stream() {
	port=$((port + 1))
	smctest stream server --family smc --port $port --bytes 1M --timeout 120 --name $1-pnet-$2-server >/tmp/$1.psrv 2>&1 &
	spid=$!
	until grep -q '^listening' /tmp/$1.psrv; do sleep 0.1; done
	smctest stream client --family smc --port $port --bytes 1M --timeout 120 --name $1-pnet-$2-client >/tmp/$1.pcli 2>&1
	wait $spid
	grep -h '^TEST' /tmp/$1.psrv /tmp/$1.pcli >&2
	for r in psrv pcli; do
		grep -E '^(mode_smcd|mode_fallback|fallback_rsn|fallback_peer_rsn) ' /tmp/$1.$r | sed "s/^/$2 ${r#p} /"
	done
}
# privs TAG: the requests of an unprivileged user (nobody), into /tmp/TAG.privs.
privs() {
	smctest ueid add "$EID"
	for a in "ueid add SMC-RS-OTHER" "ueid del $EID" "ueid flush" "hslimit on" "seid on" \
		"pnet add NETX --eth eth0" "pnet del NETX" "pnet flush" \
		"ueid list" "hslimit" "pnet list" "sysinfo"; do
		echo "nobody $a: $(smctest as-user 65534 smctest $a 2>&1 | tr '\n' ' ')"
	done > /tmp/$1.privs
	echo "nobody writes rmem: $(smctest as-user 65534 sh -c 'echo 131072 > /proc/sys/net/smc/rmem' 2>&1 | tr '\n' ' ')-> $(cat /proc/sys/net/smc/rmem)" >> /tmp/$1.privs
	smctest ueid list >> /tmp/$1.privs
	smctest ueid flush
	# A thousand entries: more than one part of a dump.
	{
		smctest pnet add-many 1000; echo "add-many rc $?"
		smctest pnet count
		smctest pnet get PN999
		smctest pnet get PN1000; echo "get none rc $?"
		smctest pnet flush
		smctest pnet count
	} >> /tmp/$1.privs 2>&1
	sed 's/^/  '$1' /' /tmp/$1.privs
}
# netns TAG: a second network namespace beside the initial one, into /tmp/TAG.netns.
netns() {
	sysctl -w net.smc.rmem=131072 >/dev/null
	smctest pnet add NETA --eth eth0
	rm -f /tmp/ns-ready /tmp/ns-done
	port=$((port + 1))
	unshare -n sh -c "
		echo ns rmem \$(cat /proc/sys/net/smc/rmem)
		echo 262144 > /proc/sys/net/smc/rmem; echo ns rmem set \$(cat /proc/sys/net/smc/rmem)
		echo ns pnet: \$(smctest pnet list)
		smctest pnet add NETB --eth lo; echo ns add eth rc \$?
		smctest pnet add NETC --ib lo 2>&1; echo ns add ib rc \$?
		echo ns pnet: \$(smctest pnet list)
		smctest hslimit on; echo ns \$(smctest hslimit)
		smctest stream server --family smc --port $port --timeout 60 --name ns > /tmp/ns-srv.out 2>&1 &
		until grep -q '^listening' /tmp/ns-srv.out; do sleep 0.1; done
		echo ns diag \$(smctest diag | tail -1)
		touch /tmp/ns-ready
		until [ -e /tmp/ns-done ]; do sleep 0.1; done
		kill \$!
	" > /tmp/$1.netns 2>&1 &
	nspid=$!
	until [ -e /tmp/ns-ready ]; do sleep 0.1; done
	{
		echo init rmem $(cat /proc/sys/net/smc/rmem)
		echo init pnet: $(smctest pnet list)
		echo init $(smctest hslimit)
		echo init diag $(smctest diag | tail -1)
	} > /tmp/$1.netns-init
	touch /tmp/ns-done
	wait $nspid
	cat /tmp/$1.netns-init >> /tmp/$1.netns
	sysctl -w net.smc.rmem=65536 >/dev/null
	smctest pnet flush
	sed 's/^/  '$1' /' /tmp/$1.netns
}
delta() { echo $(( $(val /tmp/$1.st1 "$2") - $(val /tmp/$1.st0 "$2") )); }

check c-smc-load sh -c "modprobe smc && modprobe smc_diag"
workload c
sysctls c
pnets c
privs c
netns c
check c-unload modprobe -r smc_diag smc
check rs-load modprobe smc_rs
workload rs
sysctls rs
pnets rs
privs rs
netns rs

check sysinfo-same cmp /tmp/c.sys /tmp/rs.sys
check sysctl-listed grep -q '^net.smc.rmem = 65536$' /tmp/rs.sysctl
check sysctl-defaults-same cmp /tmp/c.sysctl /tmp/rs.sysctl
check sysctl-writes-same cmp /tmp/c.sysctl-w /tmp/rs.sysctl-w
check sysctl-hs-limit-same cmp /tmp/c.sysctl-hs /tmp/rs.sysctl-hs
check sysctl-hs-limit-one-switch sh -c "grep -qx 'hs_limitation 1' /tmp/rs.sysctl-hs && tail -1 /tmp/rs.sysctl-hs | grep -qx 0"
check sysctl-rmem-sizes-dmbs grep -qx 'dmbs 262144' /tmp/rs.bufs
check sysctl-rmem-same cmp /tmp/c.bufs /tmp/rs.bufs
check pnet-listed grep -q 'pnet list: pnet NET1 eth=eth0 ib=n/a port=255' /tmp/rs.pnet
check pnet-lo-held-falls-back grep -q '^held cli mode_fallback 1' /tmp/rs.pnet
check pnet-lo-free-smcd grep -q '^free cli mode_smcd 1' /tmp/rs.pnet
check pnet-same cmp /tmp/c.pnet /tmp/rs.pnet
check privs-refused grep -q 'nobody ueid flush: .*Operation not permitted' /tmp/rs.privs
check pnet-1000-dumped grep -qx 'pnet_entries 1000' /tmp/rs.privs
check privs-same cmp /tmp/c.privs /tmp/rs.privs
check netns-own-sysctl grep -qx 'ns rmem 65536' /tmp/rs.netns
check netns-init-untouched sh -c "grep -qx 'init rmem 131072' /tmp/rs.netns && grep -qx 'init diag socks 0' /tmp/rs.netns && grep -qx 'init hs_limitation 0' /tmp/rs.netns"
check netns-own-socket grep -qx 'ns diag socks 1' /tmp/rs.netns
check netns-same cmp /tmp/c.netns /tmp/rs.netns
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
	check $m-stats-bytes-moved test "$(delta $m smcd_tx_bytes)" -gt 0
	for k in smcd_tx_bytes smcd_rx_bytes smcd_rx_rmb_size_64k smcd_rx_rmb_alloc_cnt; do
		echo "$k $(delta $m $k)"
	done > /tmp/$m.stdelta
	sed 's/^/  '$m' delta /' /tmp/$m.stdelta
done
# The same bytes each way, and the same DMBs (size classes, count) made.
check stats-deltas-same cmp /tmp/c.stdelta /tmp/rs.stdelta
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
