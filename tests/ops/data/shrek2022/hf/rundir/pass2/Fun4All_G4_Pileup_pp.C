// stand-in macro
int Fun4All_G4_Pileup_pp(int nEvents = 1) { return 0; }
