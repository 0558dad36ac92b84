# vms: 2
# timeout: 2400
# append: kunit.filter_glob=smc_rs*
# Load between two VMs with the kernel's C smc on both (SMC-D over
# ism_ivshmem, user EID set) and plain TCP as the control: see load.inc.
MODULE=smc
TCP=1
. "$EXTRA/load.inc"
