"""Child process of ``validation.tflm.convert(..., isolated=True)``: converts one saved Keras model.

Arguments: MODEL.keras OUT.tflite DTYPE SEED REPRESENTATIVE.npy|- [--float-io] [--int16-activations].
Exit codes: 0 written (stdout's last line "convert_seconds S": the conversion's own seconds); 2 the converter
refused the model (its one-line reason on stderr); 3 the saved model could not be loaded (the parent then converts
in its own process). A crash of the converter ends the process by a signal, which the parent reports.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    import numpy as np

    from validation._errors import ToolchainError
    from validation.tflm import convert_timed, load_keras

    model_path, out_path, dtype, seed, rep_path, *flags = argv
    keras = load_keras()
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as exc:  # Keras raises many types for a model it cannot rebuild
        print(f"cannot load the saved model: {type(exc).__name__}", file=sys.stderr)
        return 3
    representative = None if rep_path == "-" else np.load(rep_path)
    try:
        flatbuffer, seconds = convert_timed(model, dtype, representative, int(seed), float_io="--float-io" in flags,
                                            int16_activations="--int16-activations" in flags)
    except ToolchainError as exc:
        print(exc, file=sys.stderr)
        return 2
    with open(out_path, "wb") as f:
        f.write(flatbuffer)
    print(f"convert_seconds {seconds:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
