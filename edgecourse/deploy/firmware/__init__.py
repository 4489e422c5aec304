"""Firmware for an int8 ``.tflite``: TFLM sources, or generated C built and run on a Cortex-M4.

Lesson 05's code-generation and TinyML-interpreter routes, and the ``edgecourse firmware`` /
``edgecourse budget`` commands.
"""

from edgecourse.deploy.firmware.codegen_c import SUPPORTED_OPS, generate_c, generate_harness
from edgecourse.deploy.firmware.project import write_project
from edgecourse.deploy.firmware.report import FirmwareReport, format_table
from edgecourse.deploy.firmware.tflm_project import generate_tflm, resolver_method
from edgecourse.deploy.firmware.verify import verify_c, verify_tflm

__all__ = ["SUPPORTED_OPS", "generate_c", "generate_harness", "generate_tflm", "resolver_method",
           "write_project", "FirmwareReport", "format_table", "verify_c", "verify_tflm"]
