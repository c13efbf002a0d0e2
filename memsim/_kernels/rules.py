"""``memsim._rules`` compiled, once, for every kernel: the same functions the graph IR and the profiles call from
Python (inlined into the kernels that use them)."""

from __future__ import annotations

from memsim import _rules
from memsim._jit import kernel

__all__ = list(_rules.__all__)

FLOAT32_BYTES, INT8_BYTES, INT32_BYTES = _rules.FLOAT32_BYTES, _rules.INT8_BYTES, _rules.INT32_BYTES

activation_macc = kernel(_rules.activation_macc, inline=True)
add_macc = kernel(_rules.add_macc, inline=True)
align_up = kernel(_rules.align_up, inline=True)
batch_norm_counts = kernel(_rules.batch_norm_counts, inline=True)
conv_counts = kernel(_rules.conv_counts, inline=True)
dense_counts = kernel(_rules.dense_counts, inline=True)
element_bytes = kernel(_rules.element_bytes, inline=True)
fused_pool_scratch = kernel(_rules.fused_pool_scratch, inline=True)
global_pool_macc = kernel(_rules.global_pool_macc, inline=True)
im2col_scratch = kernel(_rules.im2col_scratch, inline=True)
int8_conv_scratch = kernel(_rules.int8_conv_scratch, inline=True)
int8_dense_scratch = kernel(_rules.int8_dense_scratch, inline=True)
layer_weight_bytes = kernel(_rules.layer_weight_bytes, inline=True)
overlap_extra = kernel(_rules.overlap_extra, inline=True)
pad_top = kernel(_rules.pad_top, inline=True)
pool_macc = kernel(_rules.pool_macc, inline=True)
window_length = kernel(_rules.window_length, inline=True)
