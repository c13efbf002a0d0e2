"""numba kernels: plain arrays in, plain arrays out, one module per subsystem.

``codes`` (op codes and the IR array layout), ``graph_ir`` (a Graph in that layout), ``chain_ir`` (a template's
slots in that layout), ``planner`` (the greedy planner), ``weights`` (weight Flash), ``xcubeai`` (X-CUBE-AI's
activation plan), ``tflm`` (TFLM's lowering of a chain), ``driver`` (N configurations in one call).

Kept apart so the rest of memsim stays readable and so CI can run the same tests with ``NUMBA_DISABLE_JIT=1``.
No fastmath: results must be exact.
"""
