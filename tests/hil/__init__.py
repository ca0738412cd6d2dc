"""Hardware-in-the-loop tests: the real daemon on MockFactory pins and the simulated plant."""
