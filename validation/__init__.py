"""validation: the real toolchains beside memsim (TFLite-Micro now; X-CUBE-AI reports and stedgeai next).

TensorFlow and tflite-micro are imported only when a function needs them.
"""

from validation._errors import NotDeployableError, ToolchainError, ValidationError
from validation.finalists import Finalists

__all__ = ["Finalists", "NotDeployableError", "ToolchainError", "ValidationError"]
