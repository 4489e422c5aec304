"""The embedded engineer's chain: ``.tflite`` reader, export, runtimes (TFLite, the integer
reference, TFLM), and firmware generation, build and emulation. May use :mod:`edgecourse.lab`."""
