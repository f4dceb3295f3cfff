// stand-in for MDC2 Fun4All_CaloReco.C: SHREK tests never run ROOT
