"""The benchmark: lesson runtimes, grading time, the compression ledger, firmware speed."""
