# vms: 2
# timeout: 1200
# shm-size: 4M
# append: kunit.filter_glob=smc_rs*
# DMB exhaustion with smc_rs on both VMs and a small region (4 MiB: 768 KiB
# of DMBs per VM, 48 of the smallest, 16 KiB): 250 connections at once, the
# ones without room fall back (Decline MEM); see exhaust.inc.
CONNS=250
MODULE=smc_rs
. "$EXTRA/exhaust.inc"
