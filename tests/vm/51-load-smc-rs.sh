# vms: 2
# timeout: 2400
# append: kunit.filter_glob=smc_rs*
# Load between two VMs with smc_rs on both (every connection falls back to
# TCP after the CLC handshake: smc_rs has no SMC-D data path yet): see
# load.inc.
MODULE=smc_rs
. "$EXTRA/load.inc"
