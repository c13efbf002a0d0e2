"""How the TF 2.21 converter (Keras 3) names tensors: the flatbuffer stores every name, so their lengths are
part of a .tflite's size. Measured on the real converter; the TFLM lowering (memsim._kernels.tflm) counts them."""

from __future__ import annotations

__all__ = ["AUTO_INPUT_NAME", "INPUT_NAME_EXTRA", "MERGED_CONST_NAME", "NAME_EXTRA", "NAME_ROLES", "NAME_SUFFIX",
           "OUTPUT_NAME", "PATH_EXTRA", "QUANTIZE_NAME", "input_tensor_name"]

# Tensor names (the flatbuffer stores every one; measured on the TF 2.21 converter with Keras 3). A tensor a layer
# writes is named "<model>_1/<layer>_1/<suffix>" (PATH_EXTRA characters beyond the two names); a tensor several
# ops were merged into joins their names with ";". An activation given as a layer's argument is named under that
# layer. Constants with equal values are merged across layers and renamed "arith.constant<N>". The compiled
# lowering reads the suffix lengths by role (memsim._kernels.tflm.N_*, in NAME_ROLES order).
PATH_EXTRA = len("_1/") + len("_1")
INPUT_NAME_EXTRA = len("serving_default_") + len(":0")
AUTO_INPUT_NAME = len("keras_tensor_000")  # an unnamed Input ("input_layer...") is named after its Keras tensor


def input_tensor_name(layer_name: str) -> int:
    """Length of the converter's name for a model input: "serving_default_<name>:0"."""
    return INPUT_NAME_EXTRA + (AUTO_INPUT_NAME if layer_name.startswith("input_layer") else len(layer_name))


OUTPUT_NAME = len("StatefulPartitionedCall_1:0")
MERGED_CONST_NAME = len("arith.constant1")  # the first is "arith.constant", one character less
QUANTIZE_NAME = len("tfl.quantize")
NAME_SUFFIX = {
    "matmul": "MatMul", "bias_add": "BiasAdd", "convolution": "convolution", "depthwise": "depthwise",
    "squeeze": "Squeeze", "conv_squeeze": "convolution/Squeeze", "expand_dim": "convolution/ExpandDims/dim",
    "expand": "convolution/ExpandDims", "relu": "Relu", "relu6": "Relu6", "tanh": "Tanh", "sigmoid": "Sigmoid",
    "elu": "Elu", "leaky_relu": "LeakyRelu", "softmax": "Softmax", "selu": "Selu",
    "max_pool2d": "MaxPool2d", "avg_pool2d": "AvgPool", "max_pool1d": "MaxPool1d", "avg_pool1d": "AvgPool1D",
    "pool_expand": "/ExpandDims", "pool_expand_dim": "/ExpandDims/dim", "pool_squeeze": "/Squeeze",
    "shape": "Shape", "slice": "strided_slice", "slice_begin": "strided_slice/stack", "pack_dim": "Reshape/shape/1",
    "pack": "Reshape/shape", "reshape": "Reshape", "mean": "Mean", "max": "Max",
    "reduce_axes": "/reduction_indices", "bn_mul": "batchnorm/mul", "bn_mul_1": "batchnorm/mul_1",
    "bn_add_1": "batchnorm/add_1", "bn_sub": "batchnorm/sub", "pad_const": "Const", "pad": "Pad", "add": "Add",
    "concat": "concat", "separable": "separable_conv2d", "depthwise_suffix": "/depthwise",
}
NAME_ROLES = tuple(NAME_SUFFIX)
NAME_EXTRA = {role: 1 + len(suffix) for role, suffix in NAME_SUFFIX.items()}  # "/" + suffix
