"""Front-ends that turn a network description into memsim's IR.

``spec`` (plain layer lists) and ``tflite`` (flatbuffers) import no
TensorFlow; ``keras`` imports it lazily, only when called.
"""
