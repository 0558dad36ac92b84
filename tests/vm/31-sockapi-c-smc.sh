# vms: 1
# timeout: 2400
# append: kunit.filter_glob=smc_rs*
# Socket-API conformance (smctest sockapi) against the kernel's C smc over
# the dibs loopback device: plain TCP first as the baseline, then AF_SMC
# (IPv4 and IPv6) and AF_INET[6]/IPPROTO_SMC, once with a user EID (every
# connection is SMC-Dv2) and once without (every connection falls back to
# TCP). Every case must pass each time; where the C smc differs from TCP on
# its SMC-D data path the case accepts it and prints a NOTE line.
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-SOCKAPI.TEST

# The baseline: every case holds for plain TCP.
sockapi sockapi-tcp tcp 7300
sockapi sockapi-tcp6 tcp6 7400

check c-smc-load modprobe smc
check ueid-add smctest ueid add "$EID"

# With the user EID every connection is SMC-Dv2 over the loopback device.
port=7500
for fam in smc smc6 inet inet6; do
	smctest stats >/tmp/s0
	sockapi sockapi-$fam $fam $port --expect smcd
	smctest stats --since /tmp/s0 >/tmp/d0
	sed 's/^/  delta: /' /tmp/d0
	conns=$(val /tmp/sockapi-$fam.out conns)
	# Each pair is one SMC-D connection (a few cases open more).
	check sockapi-$fam-smcd-clnt-counted atleast /tmp/d0 smcd_clnt_v2_succ "$conns"
	check sockapi-$fam-smcd-srv-counted atleast /tmp/d0 smcd_srv_v2_succ "$conns"
	check sockapi-$fam-no-clnt-fallback is /tmp/d0 fback_clnt_cnt 0
	check sockapi-$fam-no-srv-fallback is /tmp/d0 fback_srv_cnt 0
	port=$((port + 100))
done

# Without it every connection falls back to TCP, and must still behave.
check ueid-del smctest ueid del "$EID"
for fam in smc smc6 inet inet6; do
	smctest stats >/tmp/s1
	sockapi sockapi-$fam-fallback $fam $port --expect fallback
	smctest stats --since /tmp/s1 >/tmp/d1
	sed 's/^/  delta: /' /tmp/d1
	conns=$(val /tmp/sockapi-$fam-fallback.out conns)
	check sockapi-$fam-fallback-no-smcd is /tmp/d1 smcd_clnt_v2_succ 0
	check sockapi-$fam-fallback-counted atleast /tmp/d1 fback_clnt_cnt "$conns"
	port=$((port + 100))
done

check c-smc-unload modprobe -r smc_diag smc
exit $fails
