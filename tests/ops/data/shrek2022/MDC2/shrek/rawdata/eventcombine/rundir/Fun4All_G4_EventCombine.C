// stand-in for MDC2 Fun4All_G4_EventCombine.C: SHREK tests never run ROOT
