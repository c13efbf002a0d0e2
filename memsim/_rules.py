"""Each op's arithmetic — output length, stored parameters, MACC, X-CUBE-AI's per-layer buffer bytes — written once.

The graph IR (``memsim.ops.infer``) and the X-CUBE-AI profile call these functions from Python; the numba batch
kernel (``memsim._kernels``) compiles these very functions, so the two paths cannot drift apart. Integers in,
integers (or tuples of them) out, nothing numba cannot compile. The constants stay with the profile that measured
them and are passed in.

MACC follows X-CUBE-AI >= 7.2 arithmetic (shared/reference/xcubeai.md, checked against real reports in the tests):

==========================  =============================================
conv 1D/2D, depthwise       out_elems * k_h * k_w * C_in/group + C_out (bias once per channel)
dense                       outer * in * out + out
activation                  per element, ``memsim.ops.ACTIVATION_MACC``
batch norm kept             2 per element (scale + bias); folded: 0
pooling                     window size per output element
global pooling              H * W per output element
add                         (inputs - 1) per element
reshape/flatten/dropout     0
==========================  =============================================
"""

from __future__ import annotations

FLOAT32_BYTES = 4  # a float32 element (activation, weight, bias of a float model)
INT8_BYTES = 1     # an int8 element (activation, weight of an int8 model)
INT32_BYTES = 4    # an int32 element (an int8 model's bias; shape, axis and index constants)

__all__ = ["activation_macc", "add_macc", "align_up", "batch_norm_counts", "conv_counts", "dense_counts",
           "element_bytes", "fused_pool_scratch", "global_pool_macc", "im2col_scratch", "int8_conv_scratch",
           "int8_dense_scratch", "layer_weight_bytes", "overlap_extra", "pad_top", "pool_macc", "window_length"]


def element_bytes(int8):
    """Bytes of one activation or weight element."""
    return INT8_BYTES if int8 else FLOAT32_BYTES


def align_up(n, alignment):
    """``n`` rounded up to a multiple of ``alignment`` (buffers in a pool, constants in a flatbuffer)."""
    return (n + alignment - 1) // alignment * alignment


def window_length(length, window, stride, same):
    """Output length along one axis of a convolution or pooling window; below 1 when a 'valid' window does not
    fit (the caller says so)."""
    if same:
        return (length + stride - 1) // stride
    return (length - window) // stride + 1


def pad_top(out_rows, window, stride, in_rows, same):
    """Rows of zeros a 'same' window adds above its input (TensorFlow puts the odd one below)."""
    if not same:
        return 0
    return max((out_rows - 1) * stride + window - in_rows, 0) // 2


def conv_counts(out_elems, window_elems, c_in, c_out, depthwise, use_bias):
    """(weights, biases, MACC) of a convolution; a depthwise one has one window per output channel."""
    per_output = window_elems if depthwise else window_elems * c_in
    biases = c_out if use_bias else 0
    return per_output * c_out, biases, out_elems * c_out * per_output + biases


def dense_counts(outer, c_in, units, use_bias):
    """(weights, biases, MACC) of a dense layer applied to ``outer`` rows of ``c_in`` features."""
    biases = units if use_bias else 0
    return c_in * units, biases, outer * c_in * units + biases


def pool_macc(out_elems, window_elems):
    return out_elems * window_elems


def global_pool_macc(in_elems):
    return in_elems


def activation_macc(elems, per_element):
    return elems * per_element


def batch_norm_counts(channels, elems):
    """(weights, biases, MACC) of a batch norm the converter keeps (scale and shift per channel)."""
    return channels, channels, 2 * elems


def add_macc(n_inputs, elems):
    return (n_inputs - 1) * elems


def layer_weight_bytes(weights, biases, int8, kept_bn, shared):
    """Flash bytes of one layer's weights and biases (memsim.metrics states the rules): float32 4 B each; int8
    1 B per weight and 4 B (int32) per bias, a kept BatchNorm's scale and shift int8 both; X-CUBE-AI weight sharing
    (``shared`` 1: x4, 8-bit indices into 256 floats; 2: x8, 4-bit indices into 16) on the kernel only."""
    if int8:
        return weights + biases if kept_bn else weights * INT8_BYTES + biases * INT32_BYTES
    if shared == 1:  # 8-bit indices, a 256-entry float table
        return weights + 256 * FLOAT32_BYTES + biases * FLOAT32_BYTES
    if shared == 2:  # 4-bit indices, a 16-entry float table
        return (weights + 1) // 2 + 16 * FLOAT32_BYTES + biases * FLOAT32_BYTES
    return (weights + biases) * FLOAT32_BYTES


# X-CUBE-AI buffer bytes (why each rule holds: memsim/profiles/xcubeai.py)

def im2col_scratch(receptive_field):
    """A float convolution's im2col scratch: one output pixel's receptive field (k_h x k_w x C_in) of floats."""
    return receptive_field * FLOAT32_BYTES


def fused_pool_scratch(pool_rows, row_elems, elem):
    """A conv fused with its pooling keeps ``pool_rows`` rows of the conv output while it runs."""
    return pool_rows * row_elems * elem


def int8_dense_scratch(in_elems, out_elems, per_in, per_out):
    return per_in * in_elems + per_out * out_elems


def int8_conv_scratch(receptive_field, row, extra_rows):
    """The envelope reserved for an int8 convolution's scratch: receptive field x (output row + extra) bytes."""
    return receptive_field * (row + extra_rows)


def overlap_extra(rows_in, r_in, rows_out, r_out, k, step, pad_top):
    """Bytes beyond the output a float conv needs when its output is laid over its input (row counts, row bytes,
    kernel rows, input rows per output row, top padding); -1 when overlapping would save nothing."""
    x = rows_in * r_in
    y = rows_out * r_out
    if y <= x:
        need = x + (k + 1) * r_out
    else:
        p = 0
        for i in range(rows_out):
            read = min(rows_in, max(0, (i + 1) * step - pad_top))
            q = r_out * (i + 1) - r_in * read
            if q > p:
                p = q
        need = p + x + k * r_out
    return need - y if need < x + y else -1
