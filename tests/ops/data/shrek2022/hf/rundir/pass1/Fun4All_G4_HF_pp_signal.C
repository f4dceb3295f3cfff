// stand-in macro (the real one lives in the sPHENIX macros repository)
int Fun4All_G4_HF_pp_signal(int nEvents = 1) { return 0; }
