# vms: 2
# timeout: 1800
# append: kunit.filter_glob=smc_rs*
# DMB exhaustion with the default region (64 MiB: 15.75 MiB of DMBs per VM,
# at most 1008 of the smallest, 16 KiB, and 1024 DMB indices): 1100
# connections at once; see exhaust.inc.
CONNS=1100
. "$EXTRA/exhaust.inc"
