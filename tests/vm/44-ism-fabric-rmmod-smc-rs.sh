# vms: 2
# timeout: 900
# append: kunit.filter_glob=smc_rs*
# Module unloads with live SMC-D connections of smc_rs (on both VMs) over
# ism_ivshmem. `rmmod smc_rs` is refused while its sockets are open (each
# socket holds the module) and the streams go on unharmed. `rmmod
# ism_ivshmem` in the guest in the middle of the streams is not refused: the
# device goes, smc_rs ends the link groups over it and its connections
# (their sockets fail), the host hears of it through the fabric (the leaving
# VM rings its peers) and its sockets fail well before the 60 s idle
# timeout; its DMBs are unregistered. The device back, new connections are
# SMC-D again, and both modules unload cleanly at the end.
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-FABRIC.TEST
N=10

check ism-load modprobe ism_ivshmem
dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* | head -1)
check smc-rs-load modprobe smc_rs
check ueid-add smctest ueid add "$EID"
meet ready > /dev/null
pair lgr-up 7801 --family inet --conns 1 --bytes 64K --expect smcd --timeout 300

meet pull > /dev/null
if [ "$VM_ROLE" = host ]; then
	smctest stream server --family inet --port 7802 --conns "$N" --bytes 512M \
		--expect any --timeout 300 --name pulled-server >/tmp/p.out 2>&1 &
	spid=$!
	# Refused while the streams run (the guest pulls its device later).
	wait_attached "$N"
	check rmmod-smc-rs-refused-server sh -c '! rmmod smc_rs'
	meet refused > /dev/null
	start=$(cut -d. -f1 /proc/uptime)
	wait $spid
	prc=$?
	took=$(( $(cut -d. -f1 /proc/uptime) - start ))
	grep -v '^  conn \|^TEST ' /tmp/p.out | head -20
	echo "host's streams ended $took s after the guest's rmmod"
	check pulled-stream-fails test $prc -ne 0
	check pulled-stream-fails-promptly test $took -lt 45
	# The link group over the pulled device goes, and with it our DMBs.
	i=0
	until grep -qx 'dmbs 0' "$dev/fabric" || [ $i -ge 100 ]; do i=$((i + 1)); sleep 0.2; done
	cat "$dev/fabric"
	check pulled-dmbs-freed grep -qx 'dmbs 0' "$dev/fabric"
	check pulled-lgr-gone sh -c "! smctest linkgroups | grep -q '^smcd_lgr '"
else
	smctest stream client --family inet --addr "$PEER_IP" --port 7802 --conns "$N" \
		--bytes 512M --expect any --timeout 300 --name pulled-client >/tmp/p.out 2>&1 &
	cpid=$!
	wait_attached "$N"
	check streams-attached sh -c "[ $(fabric attached) -ge $N ]"
	check rmmod-smc-rs-refused-client sh -c '! rmmod smc_rs'
	meet refused > /dev/null
	# Still streaming after the refusals.
	check streams-still-attached sh -c "[ $(fabric attached) -ge $N ]"
	check ism-unload-with-connections rmmod ism_ivshmem
	wait $cpid
	check pulled-stream-fails test $? -ne 0
	grep -v '^  conn \|^TEST ' /tmp/p.out | head -20
	check pulled-lgr-gone sh -c "! smctest linkgroups | grep -q '^smcd_lgr '"
fi
meet rejoin > /dev/null
if [ "$VM_ROLE" = guest ]; then
	check ism-reload modprobe ism_ivshmem
	dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* | head -1)
fi
meet rejoined > /dev/null
pair rejoined 7803 --family inet --conns 4 --bytes 4M --expect smcd --timeout 300
meet done > /dev/null
check smc-rs-unload unload smc_rs
check dmbs-freed grep -qx 'dmbs 0' "$dev/fabric"
check ism-unload rmmod ism_ivshmem
exit $fails
