"""numba kernels: plain arrays in, plain arrays out, one module per subsystem.

``codes`` (op codes and the IR array layout, derived from memsim.ops), ``rules`` (memsim._rules compiled),
``graph_ir`` (a Graph in that layout), ``chain_ir`` (a template's slots in that layout), ``planner`` (the greedy
planner), ``weights`` (weight Flash), ``xcubeai`` (X-CUBE-AI's activation plan), ``tflm`` (TFLM's lowering to a
TFLite graph), ``tflm_memory`` (arena and flatbuffer bytes of a TFLite graph), ``driver`` (N configurations of a
template in one call).

Each rule is written here once: the runtime profiles call these functions for any network, the batch driver for
a template's chains. Constants come in as arguments, built by the profiles from their own tables. CI runs the
same tests with ``NUMBA_DISABLE_JIT=1``. No fastmath: results must be exact.
"""
