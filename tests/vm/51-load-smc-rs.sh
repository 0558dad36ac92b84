# vms: 2
# timeout: 2400
# append: kunit.filter_glob=smc_rs*
# Load between two VMs with smc_rs on both: SMC-D over ism_ivshmem (user EID
# set), then the same workloads without the user EID, every connection
# falling back to TCP after the CLC handshake: see load.inc.
MODULE=smc_rs
FALLBACK=1
. "$EXTRA/load.inc"
