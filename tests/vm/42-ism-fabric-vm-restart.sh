# vms: 2
# timeout: 1500
# append: kunit.filter_glob=smc_rs*
# A VM that dies without warning in the middle of SMC-D streams over the
# ism_ivshmem fabric and comes back as a new QEMU process: vmrun SIGKILLs
# the guest's QEMU (VMRUN-RESTART-ME) and boots a new one in its place,
# a new ivshmem peer, which runs this script again with VM_BOOT=2. The
# host's streams fail promptly and the dead VM's link group and DMBs go;
# the restarted guest loads the modules and joins the fabric with a new
# peer ID and GID, and the kernel's C smc on both sides makes new SMC-D
# connections to it, 4 from each side, every byte checked. At the end both
# unload smc (which ends the link groups it keeps for reuse and frees their
# DMBs) and find their device with no DMB left, registered or retired,
# before unloading it.
set -u
. "$EXTRA/checks.inc"
EID=SMC-RS-FABRIC.TEST
# meet's ports: 7001 and up before the guest's death; the restarted
# guest's script starts from the top, so from its return on both sides
# count from 7011 (met=10).

# until_true TRIES CMD...: runs CMD every 0.2 s until it succeeds, at most
# TRIES times.
until_true() {
	n=$1; shift
	i=0
	until "$@"; do
		i=$((i + 1)); [ $i -lt "$n" ] || return 1
		sleep 0.2
	done
}
attached() { [ "$(fabric attached)" -ge "$1" ]; }
# streaming: the doomed client's 4 DMBs are attached, or it has ended.
streaming() { attached 4 || grep -q '^TEST doomed-client ' /tmp/c.out; }
no_smcd_lgr() { ! smctest linkgroups | grep -q '^smcd_lgr '; }
no_dmbs() { [ "$(fabric dmbs)" = 0 ] && [ "$(fabric retired)" = 0 ]; }

# stream NAME SERVER-ROLE PORT CONNS BYTES: `pair`, CONNS connections of
# BYTES each way, served by the VM in SERVER-ROLE; both check every byte and
# that every connection is SMC-D (smc_diag).
stream() {
	PAIR_SERVER=$2 pair "$1" "$3" --family inet --conns "$4" --bytes "$5" --expect smcd --timeout 600
}

# The restarted guest's test names say so (one log holds both boots).
p=
[ "$VM_BOOT" = 1 ] || p=restarted-
check "${p}ism-load" modprobe ism_ivshmem
dev=$(ls -d /sys/kernel/debug/ism_ivshmem/* | head -1)
cat "$dev/fabric"
check "${p}c-smc-load" modprobe smc
check "${p}ueid-add" smctest ueid add "$EID"

if [ "$VM_BOOT" = 1 ]; then
	# The guest tells the host who it is on the fabric this time.
	meet first "$(fabric peer) $(fabric gid)" > /tmp/first
	# One connection first, so that the streams below find a link group
	# (SMC keeps it for reuse) and none of them is a first contact: the
	# C smc's SMC-D client can handle the accepts of parallel first
	# connections out of order (the server reused the link group the
	# first one made, the client has none yet) and decline one with
	# SYNCERR, which ends the link group under the others.
	stream lgr-up host 7300 1 1M
fi

if [ "$VM_ROLE" = guest ] && [ "$VM_BOOT" = 1 ]; then
	smctest stream client --family inet --addr "$PEER_IP" --port 7301 --conns 4 \
		--bytes 512M --expect any --timeout 300 --name doomed-client >/tmp/c.out 2>&1 &
	# Die only once all four connections are SMC-D and streaming: the
	# client attaches (writes straight into) one host DMB per connection.
	start=$(cut -d. -f1 /proc/uptime)
	until_true 600 streaming
	echo "waited $(( $(cut -d. -f1 /proc/uptime) - start )) s for 4 attached DMBs"
	cat "$dev/fabric"
	smctest linkgroups
	check doomed-streams-attached attached 4
	# If they are not, the streams have ended: show how.
	attached 4 || { grep -v '^  conn ' /tmp/c.out; smctest stats; }
	meet dying > /dev/null
	# Our answer to the meet may still sit in this VM's socket (its CPUs
	# are busy with the streams): give it time to reach the host, whose
	# meet waits for it, before this VM is gone.
	sleep 3
	# Die: vmrun kills this VM's QEMU (SIGKILL) on this line, as when the
	# host loses the process, and starts a new one, which runs this
	# script again with VM_BOOT=2.
	echo VMRUN-RESTART-ME
	sleep 600
	exit 1
fi

if [ "$VM_ROLE" = host ]; then
	read -r dead_peer dead_gid < /tmp/first
	echo "guest before its death: peer $dead_peer gid $dead_gid"
	smctest stream server --family inet --port 7301 --conns 4 --bytes 512M \
		--expect any --timeout 300 --name doomed-server >/tmp/d.out 2>&1 &
	server=$!
	meet dying > /dev/null
	start=$(cut -d. -f1 /proc/uptime)
	wait $server
	rc=$?
	took=$(( $(cut -d. -f1 /proc/uptime) - start ))
	grep -v '^  conn \|^TEST ' /tmp/d.out | head -20
	echo "streams ended $took s after the guest died (exit $rc)"
	check dead-peer-streams-fail test $rc -ne 0
	# The failure comes well before the 60 s idle timeout.
	check dead-peer-streams-fail-promptly test "$took" -lt 45
	until_true 100 no_smcd_lgr
	smctest linkgroups
	check dead-peer-lgr-gone no_smcd_lgr
	until_true 100 no_dmbs
	cat "$dev/fabric"
	check dead-peer-dmbs-freed grep -qx 'dmbs 0' "$dev/fabric"
	check dead-peer-attaches-void grep -qx 'retired 0' "$dev/fabric"

	# The guest comes back.
	met=10
	meet back "$(fabric fabric)" > /tmp/back
	read -r new_peer new_gid new_fabric < /tmp/back
	echo "restarted guest: peer $new_peer gid $new_gid fabric $new_fabric"
	check restarted-peer-same-fabric test "$new_fabric" = "$(fabric fabric)"
	check restarted-peer-new-peer-id test "$new_peer" != "$dead_peer"
	check restarted-peer-new-gid test "$new_gid" != "$dead_gid"
else
	met=10
	meet back "$(fabric peer) $(fabric gid) $(fabric fabric)" > /tmp/back
	check restarted-joined-host-fabric test "$(cat /tmp/back)" = "$(fabric fabric)"
fi

# New SMC-D connections between the survivor and the restarted VM: one
# that sets up the link group (see lgr-up), then 4 from each side.
smctest stats > /tmp/stats0
meet stream-1 > /dev/null
stream rejoined-lgr-up host 7302 1 1M
stream rejoined-guest-connects host 7303 4 16M
meet stream-2 > /dev/null
stream rejoined-host-connects guest 7304 4 16M
smctest stats --since /tmp/stats0 > /tmp/stats1
cat /tmp/stats1
check rejoined-smcd-v2-server-counted atleast /tmp/stats1 smcd_srv_v2_succ 4
check rejoined-smcd-v2-client-counted atleast /tmp/stats1 smcd_clnt_v2_succ 4
check rejoined-no-fallback-server is /tmp/stats1 fback_srv_cnt 0
check rejoined-no-fallback-client is /tmp/stats1 fback_clnt_cnt 0
smctest linkgroups > /tmp/lgr
cat /tmp/lgr
if [ "$VM_ROLE" = host ]; then
	# smc_diag shows the GID's first 64 bits.
	new_hi=$(echo "$new_gid" | cut -c1-16)
	dead_hi=$(echo "$dead_gid" | cut -c1-16)
	check rejoined-lgr-to-new-gid grep -q "peer_gid=0x$new_hi " /tmp/lgr
	check no-lgr-to-dead-gid sh -c "! grep -q 'peer_gid=0x$dead_hi ' /tmp/lgr"
fi
cat "$dev/fabric"

# Unload smc first: that ends the link groups it keeps for reuse (their
# DMBs are kept registered for 10 minutes otherwise) and frees their DMBs
# through our device; the peer's smc ends its side of them, detaching our
# DMBs. Then nothing is left on either device.
meet unload-smc > /dev/null
# smc_diag (loaded by smctest's socket dump) holds smc.
check "${p}c-smc-unload" modprobe -r smc_diag smc
meet smc-unloaded > /dev/null
until_true 100 no_dmbs
cat "$dev/fabric"
check "${p}dmbs-all-freed" grep -qx 'dmbs 0' "$dev/fabric"
check "${p}no-retired-dmbs" grep -qx 'retired 0' "$dev/fabric"
meet checked > /dev/null
check "${p}ism-unload" rmmod ism_ivshmem
exit $fails
